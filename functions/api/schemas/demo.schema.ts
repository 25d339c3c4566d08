import { z } from 'zod';
import { idParam } from './common.schema';

export const demoTradesBody = z.object({ accountId: idParam }).strict();
