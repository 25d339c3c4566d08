import { toPublicMapping } from '../../../shared/domain/copy-mapping';
import { z } from 'zod';
import {
  closeAllOfMapping,
  createMapping,
  deleteMapping,
  getMapping,
  listCopies,
  listMappings,
  listTenantCopies,
  updateMapping,
} from '../../../shared/use-cases/manage-mappings';
import { runReplay } from '../../../shared/use-cases/run-replay';
import { defineRoute } from '../http';
import { replayBody, replaySchema } from '../schemas/replay.schema';
import { listQuery, pageOf } from '../schemas/common.schema';
import { copiesQuery, copyRecordSchema, createMappingBody, mappingSchema, updateMappingBody } from '../schemas/copy-mapping.schema';

export const copyMappingRoutes = [
  defineRoute({
    method: 'POST',
    path: '/v1/copy-mappings',
    summary: 'Copy a master account to a slave account',
    tag: 'Copy mappings',
    auth: true,
    body: createMappingBody,
    response: { status: 201, schema: mappingSchema, description: 'The mapping' },
    problems: [
      { status: 404, description: 'The master or slave account does not exist' },
      {
        status: 409,
        description: 'This master already has a mapping to this slave (MAPPING_EXISTS), or the mappings changed while this one was checked (CONCURRENT_CHANGE)',
      },
      {
        status: 422,
        description:
          'Master equals slave, the mapping would close a cycle (also when two requests race), a limit is reached (MAX_MAPPINGS_PER_TENANT, MAX_SLAVES_PER_MASTER), or the sizing scales lots into units (SIZING_ACROSS_UNITS: use notional)',
      },
    ],
    handle: async ({ runtime, tenantId, body }) => ({ status: 201, body: await createMapping(runtime, tenantId, body) }),
  }),
  defineRoute({
    method: 'GET',
    path: '/v1/copy-mappings',
    summary: 'List copy mappings',
    tag: 'Copy mappings',
    auth: true,
    query: listQuery,
    response: { status: 200, schema: pageOf(mappingSchema), description: 'A page of mappings' },
    handle: async ({ runtime, tenantId, query }) => ({ status: 200, body: await listMappings(runtime, tenantId, query) }),
  }),
  defineRoute({
    method: 'GET',
    path: '/v1/copy-mappings/{id}',
    summary: 'Get a copy mapping',
    tag: 'Copy mappings',
    auth: true,
    response: { status: 200, schema: mappingSchema, description: 'The mapping' },
    handle: async ({ runtime, tenantId, params }) => ({ status: 200, body: toPublicMapping(await getMapping(runtime, tenantId, params.id)) }),
  }),
  defineRoute({
    method: 'PATCH',
    path: '/v1/copy-mappings/{id}',
    summary: 'Change a copy mapping',
    tag: 'Copy mappings',
    auth: true,
    body: updateMappingBody,
    response: { status: 200, schema: mappingSchema, description: 'The mapping after the change' },
    problems: [{ status: 422, description: 'The sizing scales lots into units between the two accounts (SIZING_ACROSS_UNITS: use notional)' }],
    handle: async ({ runtime, tenantId, params, body }) => ({ status: 200, body: await updateMapping(runtime, tenantId, params.id, body) }),
  }),
  defineRoute({
    method: 'DELETE',
    path: '/v1/copy-mappings/{id}',
    summary: 'Delete a copy mapping',
    tag: 'Copy mappings',
    auth: true,
    response: { status: 204, description: 'Deleted' },
    problems: [
      {
        status: 409,
        description:
          'The mapping still has open copies on the slave (MAPPING_HAS_OPEN_COPIES): disable it (it keeps closing them) and delete it once they are closed',
      },
    ],
    handle: async ({ runtime, tenantId, params }) => {
      await deleteMapping(runtime, tenantId, params.id);
      return { status: 204 };
    },
  }),
  defineRoute({
    method: 'GET',
    path: '/v1/copy-mappings/{id}/copies',
    summary: 'What happened to each master event on this mapping, newest first',
    tag: 'Copy mappings',
    auth: true,
    query: listQuery,
    response: { status: 200, schema: pageOf(copyRecordSchema), description: 'A page of copy records' },
    handle: async ({ runtime, tenantId, params, query }) => ({ status: 200, body: await listCopies(runtime, tenantId, params.id, query) }),
  }),
  defineRoute({
    method: 'GET',
    path: '/v1/copies',
    summary: 'Every copy of the tenant, newest first, filtered by status, account, mapping and time',
    tag: 'Copy mappings',
    auth: true,
    query: copiesQuery,
    response: {
      status: 200,
      schema: pageOf(copyRecordSchema),
      description: 'A page of copy records; a page may hold fewer than `limit` and still have a `nextCursor` when the filters leave little',
    },
    handle: async ({ runtime, tenantId, query }) => {
      const { limit, cursor, ...filter } = query;
      return { status: 200, body: await listTenantCopies(runtime, tenantId, filter, { limit, cursor }) };
    },
  }),
  defineRoute({
    method: 'POST',
    path: '/v1/copy-mappings/{id}/close-all',
    summary: 'Close every position and cancel every pending order this mapping opened on the slave',
    tag: 'Copy mappings',
    auth: true,
    response: {
      status: 202,
      schema: z.object({ closing: z.number().int().describe('Closes and cancels queued; each becomes a copy record (close, cancelOrder)') }),
      description:
        "Queued: the slave's copies are closed through the copy path, each recorded as a copy. The mapping stays as it is (set mode closeOnly, or disable it, to open nothing new)",
    },
    handle: async ({ runtime, tenantId, params }) => ({ status: 202, body: await closeAllOfMapping(runtime, tenantId, params.id) }),
  }),
  defineRoute({
    method: 'POST',
    path: '/v1/replays',
    reachesBroker: true,
    summary: "What-if: a master's closed trades in a window run through a proposed mapping and protection, touching no broker order",
    tag: 'Copy mappings',
    auth: true,
    body: replayBody,
    response: { status: 201, schema: replaySchema, description: 'Each master trade as the slave would have copied it (or why not), and the summary' },
    problems: [{ status: 404, description: 'The master account does not exist' }],
    handle: async ({ runtime, tenantId, body }) => ({ status: 201, body: await runReplay(runtime, tenantId, body) }),
  }),
];
