import { platformCatalog } from '../../../shared/domain/platform-catalog';
import { addDemoTrades } from '../../../shared/use-cases/account-history';
import { listAuditLog } from '../../../shared/use-cases/read-audit-log';
import { defineRoute } from '../http';
import { auditEntrySchema } from '../schemas/audit.schema';
import { listQuery, pageOf } from '../schemas/common.schema';
import { demoTradesBody } from '../schemas/demo.schema';
import { platformSchema } from '../schemas/platform.schema';
import { closedTradeSchema } from '../schemas/trading.schema';

/** Platforms, the audit log and demo data. */
export const tenantRoutes = [
  defineRoute({
    method: 'GET',
    path: '/v1/platforms',
    summary: 'Platforms an account can be connected on, and what each supports',
    tag: 'Platforms',
    auth: true,
    response: { status: 200, schema: pageOf(platformSchema), description: 'Every platform' },
    handle: async () => ({ status: 200, body: { items: platformCatalog } }),
  }),
  defineRoute({
    method: 'GET',
    path: '/v1/audit-log',
    summary: 'Every change made by the tenant and every order placed for it, newest first',
    tag: 'Audit log',
    auth: true,
    query: listQuery,
    response: { status: 200, schema: pageOf(auditEntrySchema), description: 'A page of audit entries' },
    handle: async ({ runtime, tenantId, query }) => ({ status: 200, body: await listAuditLog(runtime, tenantId, query) }),
  }),
  defineRoute({
    method: 'POST',
    path: '/v1/trades/demo',
    summary: "Insert a handful of closed demo trades into an account's history",
    tag: 'Demo data',
    auth: true,
    body: demoTradesBody,
    response: { status: 201, schema: pageOf(closedTradeSchema), description: 'The demo trades inserted' },
    problems: [{ status: 404, description: 'The account does not exist' }],
    handle: async ({ runtime, tenantId, body }) => ({ status: 201, body: await addDemoTrades(runtime, tenantId, body.accountId) }),
  }),
];
