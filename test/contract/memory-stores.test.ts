import { memoryStores } from '../support/memory-stores';
import { storeContract } from './stores.contract';
import { tradeHistoryStoreContract } from './trade-history-store.contract';

const stores = memoryStores(() => new Date());

storeContract('in-memory stores', () => stores);
tradeHistoryStoreContract('in-memory stores', () => stores.tradeHistory);
