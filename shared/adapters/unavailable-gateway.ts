import { BrokerError } from '../domain/broker-errors';
import type { BrokerGateway, ProvisionResult } from '../ports/broker';

/**
 * The gateway of a platform this deployment cannot reach (no MetaApi token, or the
 * simulator outside the local runtime): accounts are kept, with an `error` status that
 * says why, and every connection fails with NOT_CONFIGURED.
 */
export class UnavailableGateway implements BrokerGateway {
  constructor(
    readonly platform: string,
    private readonly why: string,
  ) {}

  async provision(): Promise<ProvisionResult> {
    return { status: 'error', statusDetail: this.why };
  }

  async updatePassword(): Promise<ProvisionResult> {
    return this.provision();
  }

  async deprovision(): Promise<void> {}

  async connect(): Promise<never> {
    throw new BrokerError('NOT_CONFIGURED', this.why);
  }
}
