import { type FieldDefinition, type FieldType, loadProtoSchema, type MessageDefinition, type ProtoSchema } from './proto-schema';

/**
 * Checks JSON messages of cTrader's Open API against Spotware's own message definitions
 * (github.com/spotware/openapi-proto-messages, MIT, vendored verbatim in `proto/`), so the fake
 * and its clients cannot drift from what Spotware publishes.
 *
 * A message on the JSON port (5036) is `{ clientMsgId?: string, payloadType: number, payload: {...} }`
 * (help.ctrader.com/open-api/sending-receiving-json). Checked:
 * - the envelope has no other key; `clientMsgId` is a string; `payloadType` is a value of
 *   `ProtoPayloadType` or `ProtoOAPayloadType` that some message names as the default of its
 *   own `payloadType` field (that message is the payload's);
 * - the payload has every `required` field of that message and no field the message lacks;
 *   a `payloadType` inside the payload, if any, is the envelope's;
 * - values: int32 / uint32 / int64 / uint64 (and the sint, fixed, sfixed kinds) are JSON numbers
 *   that are integers in the type's range (64-bit ones as JSON numbers, as the docs show them);
 *   double and float are finite numbers; bool is a boolean; string a string; bytes a base64
 *   string; an enum is one of its NUMERIC values (the JSON port sends and takes enums as numbers);
 *   a message is an object checked the same way; a repeated field is an array of such values.
 *   `null` is never a value. Fields marked deprecated are still fields.
 *
 * The definitions name defaults that the enums no longer have (`ProtoOAv1PnLChange*`, after
 * Spotware removed their payload types): such messages have no payload type and cannot travel.
 */

const PROTO_FILES = ['OpenApiMessages.proto', 'OpenApiModelMessages.proto', 'OpenApiCommonMessages.proto', 'OpenApiCommonModelMessages.proto'];
const PAYLOAD_TYPE_ENUMS = ['ProtoPayloadType', 'ProtoOAPayloadType'];
const ENVELOPE_KEYS = new Set(['clientMsgId', 'payloadType', 'payload']);

const INTEGER_RANGES: Record<string, [number, number]> = {
  int32: [-(2 ** 31), 2 ** 31 - 1],
  sint32: [-(2 ** 31), 2 ** 31 - 1],
  sfixed32: [-(2 ** 31), 2 ** 31 - 1],
  uint32: [0, 2 ** 32 - 1],
  fixed32: [0, 2 ** 32 - 1],
  int64: [-(2 ** 63), 2 ** 63 - 1],
  sint64: [-(2 ** 63), 2 ** 63 - 1],
  sfixed64: [-(2 ** 63), 2 ** 63 - 1],
  uint64: [0, 2 ** 64 - 1],
  fixed64: [0, 2 ** 64 - 1],
};

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$|^[A-Za-z0-9_-]*$/;

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

/** The vendored definitions, parsed. */
export const loadOpenApiSchema = (): ProtoSchema => loadProtoSchema(new URL('./proto/', import.meta.url), PROTO_FILES);

export class CtraderConformanceError extends Error {
  override readonly name = 'CtraderConformanceError';
  constructor(readonly problems: string[]) {
    super(`A message does not conform to Spotware's Open API definitions:\n${problems.join('\n')}`);
  }
}

/** What a message's check found: its payload type and message name when they are known. */
export interface ConformanceVerdict {
  payloadType?: number;
  name?: string;
  problems: string[];
}

export class CtraderConformance {
  /** How many messages were checked and conformed. */
  validated = 0;
  private readonly byPayloadType = new Map<number, MessageDefinition>();
  private readonly payloadTypeByName = new Map<string, number>();

  constructor(readonly schema: ProtoSchema = loadOpenApiSchema()) {
    const payloadTypes = new Map<string, number>();
    for (const enumName of PAYLOAD_TYPE_ENUMS) {
      const definition = schema.enums.get(enumName);
      if (!definition) throw new Error(`The definitions lack ${enumName}`);
      for (const [name, value] of definition.values) payloadTypes.set(`${enumName}.${name}`, value);
    }
    for (const message of schema.messages.values()) {
      const field = message.fields.find((candidate) => candidate.name === 'payloadType');
      if (field?.type.kind !== 'enum' || field.defaultValue?.kind !== 'identifier') continue;
      const value = payloadTypes.get(`${field.type.name}.${field.defaultValue.value}`);
      if (value === undefined) continue;
      if (this.byPayloadType.has(value)) throw new Error(`Two messages have payload type ${value}`);
      this.byPayloadType.set(value, message);
      this.payloadTypeByName.set(message.fullName, value);
    }
  }

  /** The message a payload type carries (`ProtoOANewOrderReq` for 2106). */
  messageNameOf(payloadType: number): string | undefined {
    return this.byPayloadType.get(payloadType)?.fullName;
  }

  /** The payload type of a message; throws for a name the definitions do not give one. */
  payloadTypeOf(messageName: string): number {
    const value = this.payloadTypeByName.get(messageName);
    if (value === undefined) throw new Error(`${messageName} has no payload type in the definitions`);
    return value;
  }

  /** The number of an enum value (`ProtoOAExecutionType`, `ORDER_FILLED` -> 3); throws for an unknown one. */
  enumValue(enumName: string, valueName: string): number {
    const value = this.schema.enums.get(enumName)?.values.get(valueName);
    if (value === undefined) throw new Error(`${enumName}.${valueName} is not in the definitions`);
    return value;
  }

  /** The problems of one message as JSON carries it (already parsed). */
  verdict(message: unknown): ConformanceVerdict {
    if (!isObject(message)) return { problems: ['the message is not a JSON object'] };
    const problems: string[] = [];
    for (const key of Object.keys(message)) if (!ENVELOPE_KEYS.has(key)) problems.push(`unknown key ${key} beside clientMsgId, payloadType and payload`);
    if (message.clientMsgId !== undefined && typeof message.clientMsgId !== 'string') problems.push('clientMsgId must be a string');
    const payloadType = message.payloadType;
    if (typeof payloadType !== 'number' || !Number.isInteger(payloadType)) {
      problems.push('payloadType must be an integer');
      return { problems };
    }
    const definition = this.byPayloadType.get(payloadType);
    if (!definition) {
      problems.push(`payloadType ${payloadType} is no payload type of ProtoPayloadType / ProtoOAPayloadType that a message carries`);
      return { payloadType, problems };
    }
    const payload = message.payload ?? {};
    if (!isObject(payload)) {
      problems.push(`${definition.fullName}: payload must be a JSON object`);
    } else {
      this.checkMessage(payload, definition, definition.fullName, problems);
      if (payload.payloadType !== undefined && payload.payloadType !== payloadType) {
        problems.push(`${definition.fullName}.payloadType: ${String(payload.payloadType)} is not the envelope's ${payloadType}`);
      }
    }
    return { payloadType, name: definition.fullName, problems };
  }

  /** Throws `CtraderConformanceError` unless the message conforms; counts it when it does. */
  check(message: unknown): void {
    const { problems } = this.verdict(message);
    if (problems.length > 0) throw new CtraderConformanceError(problems);
    this.validated += 1;
  }

  private checkMessage(value: Record<string, unknown>, definition: MessageDefinition, path: string, problems: string[]): void {
    const fields = new Map(definition.fields.map((field) => [field.name, field]));
    for (const [key, fieldValue] of Object.entries(value)) {
      const field = fields.get(key);
      if (!field) {
        problems.push(`${path}: unknown field ${key}`);
        continue;
      }
      this.checkField(fieldValue, field, `${path}.${key}`, problems);
    }
    for (const field of definition.fields) {
      if (field.label === 'required' && value[field.name] === undefined) problems.push(`${path}: required field ${field.name} is missing`);
    }
  }

  private checkField(value: unknown, field: FieldDefinition, path: string, problems: string[]): void {
    if (field.label !== 'repeated') {
      this.checkValue(value, field.type, path, problems);
      return;
    }
    if (!Array.isArray(value)) {
      problems.push(`${path}: a repeated field must be an array`);
      return;
    }
    value.forEach((element, index) => {
      this.checkValue(element, field.type, `${path}[${index}]`, problems);
    });
  }

  private checkValue(value: unknown, type: FieldType, path: string, problems: string[]): void {
    if (value === null || value === undefined) {
      problems.push(`${path}: must not be ${String(value)}`);
      return;
    }
    if (type.kind === 'message') {
      const definition = this.schema.messages.get(type.name);
      if (!definition) throw new Error(`unresolved message ${type.name}`);
      if (!isObject(value)) problems.push(`${path}: must be an object (${type.name})`);
      else this.checkMessage(value, definition, path, problems);
      return;
    }
    if (type.kind === 'enum') {
      const values = this.schema.enums.get(type.name)?.values;
      const known = values ? [...values.values()] : [];
      if (typeof value !== 'number' || !known.includes(value)) {
        problems.push(`${path}: ${JSON.stringify(value)} is not a numeric value of ${type.name} (${known.join(', ')})`);
      }
      return;
    }
    const scalar = type.name;
    const range = INTEGER_RANGES[scalar];
    if (range) {
      if (typeof value !== 'number' || !Number.isInteger(value) || value < range[0] || value > range[1]) {
        problems.push(`${path}: ${JSON.stringify(value)} is not a ${scalar} (an integer JSON number)`);
      }
      return;
    }
    switch (scalar) {
      case 'double':
      case 'float':
        if (typeof value !== 'number' || !Number.isFinite(value)) problems.push(`${path}: ${JSON.stringify(value)} is not a ${scalar}`);
        return;
      case 'bool':
        if (typeof value !== 'boolean') problems.push(`${path}: ${JSON.stringify(value)} is not a bool`);
        return;
      case 'string':
        if (typeof value !== 'string') problems.push(`${path}: ${JSON.stringify(value)} is not a string`);
        return;
      case 'bytes':
        if (typeof value !== 'string' || !BASE64.test(value)) problems.push(`${path}: ${JSON.stringify(value)} is not base64 bytes`);
        return;
      default:
        problems.push(`${path}: unknown scalar ${scalar}`);
    }
  }
}
