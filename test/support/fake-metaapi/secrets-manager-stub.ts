import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * Just enough of the Secrets Manager wire protocol (AWS JSON 1.1, `GetSecretValue`) for the
 * real `@aws-sdk/client-secrets-manager` to read the MetaApi token secret on this machine.
 */
export class SecretsManagerStub {
  readonly secrets = new Map<string, string>();
  /** The ids the client asked for, in order. */
  readonly reads: string[] = [];
  /** While set, every read fails with this AWS error type (e.g. AccessDeniedException). */
  failWith: string | undefined;

  private constructor(
    private readonly server: Server,
    readonly endpoint: string,
  ) {}

  static async start(): Promise<SecretsManagerStub> {
    let stub: SecretsManagerStub | undefined;
    const server = createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => stub!.answer(String(request.headers['x-amz-target'] ?? ''), Buffer.concat(chunks).toString('utf8'), response));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    stub = new SecretsManagerStub(server, `http://127.0.0.1:${(server.address() as AddressInfo).port}`);
    return stub;
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }

  private answer(target: string, body: string, response: import('node:http').ServerResponse): void {
    const reply = (status: number, payload: Record<string, unknown>) => {
      response.writeHead(status, { 'content-type': 'application/x-amz-json-1.1' });
      response.end(JSON.stringify(payload));
    };
    if (target !== 'secretsmanager.GetSecretValue') {
      reply(400, { __type: 'InvalidRequestException', message: `unsupported ${target}` });
      return;
    }
    const { SecretId } = JSON.parse(body || '{}') as { SecretId?: string };
    this.reads.push(String(SecretId));
    if (this.failWith) {
      reply(400, { __type: this.failWith, message: `${this.failWith} for ${SecretId}` });
      return;
    }
    const value = SecretId === undefined ? undefined : this.secrets.get(SecretId);
    if (value === undefined) {
      reply(400, { __type: 'ResourceNotFoundException', message: "Secrets Manager can't find the specified secret." });
      return;
    }
    reply(200, { ARN: SecretId, Name: 'metaapi-token', SecretString: value, VersionId: 'v1', VersionStages: ['AWSCURRENT'], CreatedDate: Date.now() / 1000 });
  }
}
