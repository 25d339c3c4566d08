import { memoryStores } from '../support/memory-stores';
import { storeContract } from './stores.contract';

const stores = memoryStores(() => new Date());

storeContract('in-memory stores', () => stores);
