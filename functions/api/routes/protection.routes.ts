import { getProtection, putProtection, resetProtection } from '../../../shared/use-cases/manage-protection';
import { defineRoute } from '../http';
import { protectionBody, protectionSchema } from '../schemas/protection.schema';

export const protectionRoutes = [
  defineRoute({
    method: 'PUT',
    path: '/v1/accounts/{id}/protection',
    summary: 'Set the risk rules of a slave account (replaces all rules; a breach stays until reset)',
    tag: 'Protection',
    auth: true,
    body: protectionBody,
    response: { status: 200, schema: protectionSchema, description: 'The rules and their state' },
    handle: async ({ runtime, tenantId, params, body }) => ({ status: 200, body: await putProtection(runtime, tenantId, params.id, body) }),
  }),
  defineRoute({
    method: 'GET',
    path: '/v1/accounts/{id}/protection',
    summary: 'The risk rules and their state; without rules: onBreach stopCopying, state ok',
    tag: 'Protection',
    auth: true,
    response: { status: 200, schema: protectionSchema, description: 'The rules and their state' },
    handle: async ({ runtime, tenantId, params }) => ({ status: 200, body: await getProtection(runtime, tenantId, params.id) }),
  }),
  defineRoute({
    method: 'POST',
    path: '/v1/accounts/{id}/protection/reset',
    summary: 'Lift a breach: copying resumes, loss and drawdown are measured afresh',
    tag: 'Protection',
    auth: true,
    response: { status: 200, schema: protectionSchema, description: 'The rules, state ok' },
    handle: async ({ runtime, tenantId, params }) => ({ status: 200, body: await resetProtection(runtime, tenantId, params.id) }),
  }),
];
