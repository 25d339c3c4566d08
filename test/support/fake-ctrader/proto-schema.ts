import { readFileSync } from 'node:fs';

/**
 * A small parser of the proto2 language, enough for Spotware's published Open API message
 * definitions (vendored verbatim in `proto/`): `syntax`, `package`, `import`, `option`,
 * messages (nested too) with `required` / `optional` / `repeated` fields of scalar, enum or
 * message types, field options (`default`, `packed`, `deprecated`, ...), enums (nested too) with
 * their values and options, `reserved` and `extensions` statements (skipped), `oneof` groups
 * (their fields are optional). Type names are resolved as protoc resolves them: from the
 * innermost scope outwards, a leading dot meaning a fully qualified name. `map<>`, `extend`,
 * `service` and groups are not proto the definitions use: they fail the parse.
 */

export type Label = 'required' | 'optional' | 'repeated';

export const SCALAR_TYPES = [
  'double',
  'float',
  'int32',
  'int64',
  'uint32',
  'uint64',
  'sint32',
  'sint64',
  'fixed32',
  'fixed64',
  'sfixed32',
  'sfixed64',
  'bool',
  'string',
  'bytes',
] as const;
export type ScalarType = (typeof SCALAR_TYPES)[number];

const isScalar = (name: string): name is ScalarType => (SCALAR_TYPES as readonly string[]).includes(name);

export type FieldType = { kind: 'scalar'; name: ScalarType } | { kind: 'enum'; name: string } | { kind: 'message'; name: string };

/** A default value as written: an identifier (enum value, `true`, `inf`), a number or a string. */
export type DefaultValue = { kind: 'identifier'; value: string } | { kind: 'number'; value: number } | { kind: 'string'; value: string };

export interface FieldDefinition {
  name: string;
  number: number;
  label: Label;
  /** The type as written (`ProtoOATradeSide`, `.pkg.Outer.Inner`, `int64`). */
  typeName: string;
  /** Resolved once every file is read. */
  type: FieldType;
  defaultValue?: DefaultValue;
  deprecated: boolean;
}

export interface MessageDefinition {
  /** Fully qualified, without the leading dot (`ProtoOAOrder`, `Outer.Inner`). */
  fullName: string;
  fields: FieldDefinition[];
}

export interface EnumDefinition {
  fullName: string;
  values: Map<string, number>;
}

/** Every message and enum of a set of proto files, types resolved. */
export interface ProtoSchema {
  messages: Map<string, MessageDefinition>;
  enums: Map<string, EnumDefinition>;
}

export class ProtoParseError extends Error {
  override readonly name = 'ProtoParseError';
}

// ---- tokens ----------------------------------------------------------------------------

type Token = { kind: 'identifier' | 'number' | 'string' | 'symbol'; text: string; line: number };

const tokenize = (source: string, file: string): Token[] => {
  const tokens: Token[] = [];
  let index = 0;
  let line = 1;
  const fail = (message: string): never => {
    throw new ProtoParseError(`${file}:${line}: ${message}`);
  };
  while (index < source.length) {
    const char = source[index] ?? '';
    if (char === '\n') {
      line += 1;
      index += 1;
      continue;
    }
    if (/\s/.test(char)) {
      index += 1;
      continue;
    }
    if (source.startsWith('//', index)) {
      const end = source.indexOf('\n', index);
      index = end === -1 ? source.length : end;
      continue;
    }
    if (source.startsWith('/*', index)) {
      const end = source.indexOf('*/', index + 2);
      if (end === -1) fail('unterminated comment');
      line += (source.slice(index, end).match(/\n/g) ?? []).length;
      index = end + 2;
      continue;
    }
    if (char === '"' || char === "'") {
      let text = '';
      let at = index + 1;
      for (;;) {
        const next = source[at];
        if (next === undefined || next === '\n') fail('unterminated string');
        if (next === char) break;
        if (next === '\\') {
          const escaped = source[at + 1] ?? '';
          text += { n: '\n', t: '\t', r: '\r', '0': '\0' }[escaped] ?? escaped;
          at += 2;
          continue;
        }
        text += next;
        at += 1;
      }
      tokens.push({ kind: 'string', text, line });
      index = at + 1;
      continue;
    }
    const number = /^-?(0[xX][0-9a-fA-F]+|[0-9]+(\.[0-9]*)?([eE][+-]?[0-9]+)?|\.[0-9]+([eE][+-]?[0-9]+)?)/.exec(source.slice(index, index + 64));
    if (number && (char !== '-' || /[0-9.]/.test(source[index + 1] ?? ''))) {
      tokens.push({ kind: 'number', text: number[0], line });
      index += number[0].length;
      continue;
    }
    const identifier = /^\.?[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*/.exec(source.slice(index, index + 256));
    if (identifier) {
      tokens.push({ kind: 'identifier', text: identifier[0], line });
      index += identifier[0].length;
      continue;
    }
    if ('{}[]()<>=;,-'.includes(char)) {
      tokens.push({ kind: 'symbol', text: char, line });
      index += 1;
      continue;
    }
    fail(`unexpected character ${JSON.stringify(char)}`);
  }
  return tokens;
};

// ---- parsing ---------------------------------------------------------------------------

interface RawField {
  name: string;
  number: number;
  label: Label;
  typeName: string;
  defaultValue?: DefaultValue;
  deprecated: boolean;
}

interface RawMessage {
  fullName: string;
  /** The scope the message's own names are looked up in first (its full name). */
  scope: string;
  fields: RawField[];
}

class Parser {
  private at = 0;
  readonly imports: string[] = [];
  packageName = '';

  constructor(
    private readonly tokens: Token[],
    private readonly file: string,
    private readonly messages: RawMessage[],
    private readonly enums: EnumDefinition[],
  ) {}

  parseFile(): void {
    while (this.peek()) {
      const keyword = this.identifier();
      switch (keyword) {
        case 'syntax': {
          this.expect('=');
          const syntax = this.string();
          if (syntax !== 'proto2') this.fail(`syntax ${syntax} is not proto2`);
          this.expect(';');
          break;
        }
        case 'package':
          this.packageName = this.identifier();
          this.expect(';');
          break;
        case 'import': {
          const next = this.peek();
          if (next?.kind === 'identifier' && (next.text === 'public' || next.text === 'weak')) this.at += 1;
          this.imports.push(this.string());
          this.expect(';');
          break;
        }
        case 'option':
          this.skipOption();
          break;
        case 'message':
          this.parseMessage(this.packageName);
          break;
        case 'enum':
          this.parseEnum(this.packageName);
          break;
        default:
          this.fail(`unsupported top-level statement ${keyword}`);
      }
    }
  }

  private parseMessage(parent: string): void {
    const name = this.identifier();
    const fullName = parent ? `${parent}.${name}` : name;
    const message: RawMessage = { fullName, scope: fullName, fields: [] };
    this.messages.push(message);
    this.expect('{');
    this.parseMessageBody(message, false);
  }

  /** Statements up to the closing brace; inside a `oneof` fields carry no label. */
  private parseMessageBody(message: RawMessage, oneof: boolean): void {
    while (!this.accept('}')) {
      if (this.accept(';')) continue;
      const keyword = this.identifier();
      if (keyword === 'message' && !oneof) {
        this.parseMessage(message.fullName);
      } else if (keyword === 'enum' && !oneof) {
        this.parseEnum(message.fullName);
      } else if (keyword === 'option') {
        this.skipOption();
      } else if ((keyword === 'reserved' || keyword === 'extensions') && !oneof) {
        this.skipStatement();
      } else if (keyword === 'oneof' && !oneof) {
        this.identifier();
        this.expect('{');
        this.parseMessageBody(message, true);
      } else if (keyword === 'required' || keyword === 'optional' || keyword === 'repeated') {
        if (oneof) this.fail('a oneof field takes no label');
        message.fields.push(this.parseField(keyword, this.identifier()));
      } else if (oneof) {
        message.fields.push(this.parseField('optional', keyword));
      } else {
        this.fail(`unsupported statement ${keyword} in message ${message.fullName}`);
      }
    }
  }

  private parseField(label: Label, typeName: string): RawField {
    if (typeName === 'group' || typeName === 'map') this.fail(`${typeName} fields are not supported`);
    const name = this.identifier();
    this.expect('=');
    const number = this.integer();
    const field: RawField = { name, number, label, typeName, deprecated: false };
    if (this.accept('[')) {
      do {
        const option = this.optionName();
        this.expect('=');
        const value = this.constant();
        if (option === 'default') field.defaultValue = value;
        if (option === 'deprecated') field.deprecated = value.kind === 'identifier' && value.value === 'true';
      } while (this.accept(','));
      this.expect(']');
    }
    this.expect(';');
    return field;
  }

  private parseEnum(parent: string): void {
    const name = this.identifier();
    const definition: EnumDefinition = { fullName: parent ? `${parent}.${name}` : name, values: new Map() };
    this.enums.push(definition);
    this.expect('{');
    while (!this.accept('}')) {
      if (this.accept(';')) continue;
      const valueName = this.identifier();
      if (valueName === 'option') {
        this.skipOption();
        continue;
      }
      if (valueName === 'reserved') {
        this.skipStatement();
        continue;
      }
      this.expect('=');
      const value = this.integer();
      if (this.accept('[')) {
        while (!this.accept(']')) this.at += 1;
      }
      this.expect(';');
      definition.values.set(valueName, value);
    }
  }

  private skipOption(): void {
    this.optionName();
    this.expect('=');
    this.constant();
    this.expect(';');
  }

  private skipStatement(): void {
    while (!this.accept(';')) {
      if (!this.peek()) this.fail('unexpected end of file');
      this.at += 1;
    }
  }

  /** `name`, `(custom.name)` or `(custom).name`. */
  private optionName(): string {
    if (this.accept('(')) {
      const name = this.identifier();
      this.expect(')');
      const rest = this.peek();
      if (rest?.kind === 'identifier' && rest.text.startsWith('.')) {
        this.at += 1;
        return `(${name})${rest.text}`;
      }
      return `(${name})`;
    }
    return this.identifier();
  }

  private constant(): DefaultValue {
    const token = this.next();
    if (token.kind === 'string') {
      let value = token.text;
      // Adjacent string literals concatenate.
      while (this.peek()?.kind === 'string') value += this.next().text;
      return { kind: 'string', value };
    }
    if (token.kind === 'number') return { kind: 'number', value: Number(token.text) };
    if (token.kind === 'identifier') return { kind: 'identifier', value: token.text };
    if (token.text === '-' && this.peek()?.kind === 'identifier') return { kind: 'identifier', value: `-${this.next().text}` };
    return this.fail(`unexpected ${token.text}`);
  }

  private integer(): number {
    const token = this.next();
    const value = token.kind === 'number' ? Number(token.text) : Number.NaN;
    if (!Number.isInteger(value)) this.fail(`expected an integer, found ${token.text}`);
    return value;
  }

  private identifier(): string {
    const token = this.next();
    if (token.kind !== 'identifier') this.fail(`expected a name, found ${token.text}`);
    return token.text;
  }

  private string(): string {
    const token = this.next();
    if (token.kind !== 'string') this.fail(`expected a string, found ${token.text}`);
    return token.text;
  }

  private expect(symbol: string): void {
    const token = this.next();
    if (token.kind !== 'symbol' || token.text !== symbol) this.fail(`expected ${symbol}, found ${token.text}`);
  }

  private accept(symbol: string): boolean {
    const token = this.peek();
    if (token?.kind === 'symbol' && token.text === symbol) {
      this.at += 1;
      return true;
    }
    return false;
  }

  private peek(): Token | undefined {
    return this.tokens[this.at];
  }

  private next(): Token {
    const token = this.tokens[this.at];
    if (!token) return this.fail('unexpected end of file');
    this.at += 1;
    return token;
  }

  private fail(message: string): never {
    throw new ProtoParseError(`${this.file}:${this.peek()?.line ?? this.tokens.at(-1)?.line ?? 0}: ${message}`);
  }
}

/**
 * Reads `files` (and what they import, from the same directory) and resolves every field's type.
 * Throws `ProtoParseError` on anything it does not understand or cannot resolve.
 */
export const loadProtoSchema = (directory: URL, files: string[]): ProtoSchema => {
  const rawMessages: RawMessage[] = [];
  const enums: EnumDefinition[] = [];
  const read = new Set<string>();
  const queue = [...files];
  while (queue.length > 0) {
    const file = queue.shift() ?? '';
    if (read.has(file)) continue;
    read.add(file);
    const parser = new Parser(tokenize(readFileSync(new URL(file, directory), 'utf8'), file), file, rawMessages, enums);
    parser.parseFile();
    queue.push(...parser.imports);
  }
  return resolveSchema(rawMessages, enums);
};

/** Parses proto source held in memory (one file, no imports): for tests of the parser. */
export const parseProtoSource = (source: string, file = 'source.proto'): ProtoSchema => {
  const rawMessages: RawMessage[] = [];
  const enums: EnumDefinition[] = [];
  const parser = new Parser(tokenize(source, file), file, rawMessages, enums);
  parser.parseFile();
  if (parser.imports.length > 0) throw new ProtoParseError(`${file}: imports need loadProtoSchema`);
  return resolveSchema(rawMessages, enums);
};

const resolveSchema = (rawMessages: RawMessage[], enumList: EnumDefinition[]): ProtoSchema => {
  const enums = new Map(enumList.map((definition) => [definition.fullName, definition]));
  const messageNames = new Set(rawMessages.map((message) => message.fullName));
  for (const name of messageNames) if (enums.has(name)) throw new ProtoParseError(`${name} is defined twice`);
  const resolve = (typeName: string, scope: string): FieldType => {
    if (isScalar(typeName)) return { kind: 'scalar', name: typeName };
    const candidates: string[] = [];
    if (typeName.startsWith('.')) {
      candidates.push(typeName.slice(1));
    } else {
      const parts = scope ? scope.split('.') : [];
      for (let depth = parts.length; depth >= 0; depth -= 1) candidates.push([...parts.slice(0, depth), typeName].join('.'));
    }
    for (const candidate of candidates) {
      if (messageNames.has(candidate)) return { kind: 'message', name: candidate };
      if (enums.has(candidate)) return { kind: 'enum', name: candidate };
    }
    throw new ProtoParseError(`type ${typeName} (used in ${scope}) is not defined`);
  };
  const messages = new Map<string, MessageDefinition>();
  for (const raw of rawMessages) {
    const numbers = new Set<number>();
    const names = new Set<string>();
    const fields = raw.fields.map((field): FieldDefinition => {
      if (numbers.has(field.number) || names.has(field.name)) throw new ProtoParseError(`${raw.fullName}.${field.name}: duplicate field name or number`);
      numbers.add(field.number);
      names.add(field.name);
      return { ...field, type: resolve(field.typeName, raw.scope) };
    });
    messages.set(raw.fullName, { fullName: raw.fullName, fields });
  }
  return { messages, enums };
};
