import { CfnOutput, Duration, RemovalPolicy, Stack, type StackProps } from 'aws-cdk-lib';
import * as cognito from 'aws-cdk-lib/aws-cognito';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import type { Construct } from 'constructs';
import { COPY_WORKER_TIMEOUT, CopyQueue } from './constructs/copy-queue';
import { NagSuppressions } from 'cdk-nag';

export interface StatefulStackProps extends StackProps {
  /** Deployment stage (`dev`, `prod`, ...): prefixes names that must be unique per account. */
  readonly stage: string;
  /** Subscribed to the alarm topic when given. */
  readonly alarmEmail?: string;
  /** Keeps a secret for the cTrader Open API application (`-c ctrader=on`). */
  readonly ctrader?: boolean;
}

/**
 * Everything that holds data or identity: tables, the credential key, the token secret,
 * the copy-signal queue and the user pool. Data resources are retained when the stack is
 * deleted and the stack itself is termination-protected, so a mistaken `cdk destroy` loses
 * no user, account, credential or audit entry.
 */
export class StatefulStack extends Stack {
  /** Single table of the application (tenants, accounts, mappings, copies, snapshots); its stream feeds the live events. */
  readonly table: dynamodb.Table;
  /** The open live-event WebSocket connections, per tenant: ephemeral, each item expires with its connection. */
  readonly connectionsTable: dynamodb.Table;
  /** Append-only audit log: functions may put and read entries, never change or delete them. */
  readonly auditTable: dynamodb.Table;
  /** Encrypts broker passwords; every use must carry an encryption context. */
  readonly credentialsKey: kms.Key;
  /** The MetaApi API token; functions read it at run time from this ARN. */
  readonly metaApiTokenSecret: secretsmanager.Secret;
  /** The deployer's cTrader Open API application: `{ "clientId": ..., "clientSecret": ... }`, where cTrader is on. */
  readonly ctraderAppSecret?: secretsmanager.Secret;
  readonly copyQueue: CopyQueue;
  readonly alarmTopic: sns.Topic;
  readonly userPool: cognito.UserPool;
  readonly userPoolClient: cognito.UserPoolClient;

  constructor(scope: Construct, id: string, props: StatefulStackProps) {
    super(scope, id, { terminationProtection: true, ...props });

    this.table = new dynamodb.Table(this, 'Main', {
      partitionKey: { name: 'pk', type: dynamodb.AttributeType.STRING },
      sortKey: { name: 'sk', type: dynamodb.AttributeType.STRING },
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      encryption: dynamodb.TableEncryption.AWS_MANAGED,
      timeToLiveAttribute: 'expiresAt',
      // Both images: the live events tell a change (a copy that finished, a protection that broke) from a rewrite.
      stream: dynamodb.StreamViewType.NEW_AND_OLD_IMAGES,
      deletionProtection: true,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    this.table.addGlobalSecondaryIndex({
      indexName: 'gsi1',
      partitionKey: { name: 'gsi1pk', type: dynamodb.AttributeType.STRING },
      sortKey: { name: 'gsi1sk', type: dynamodb.AttributeType.STRING },
      projectionType: dynamodb.ProjectionType.ALL,
    });
    // Every copy of a tenant, newest first (GET /v1/copies).
    this.table.addGlobalSecondaryIndex({
      indexName: 'gsi2',
      partitionKey: { name: 'gsi2pk', type: dynamodb.AttributeType.STRING },
      sortKey: { name: 'gsi2sk', type: dynamodb.AttributeType.STRING },
      projectionType: dynamodb.ProjectionType.ALL,
    });

    this.auditTable = new dynamodb.Table(this, 'Audit', {
      partitionKey: { name: 'pk', type: dynamodb.AttributeType.STRING },
      sortKey: { name: 'sk', type: dynamodb.AttributeType.STRING },
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      encryption: dynamodb.TableEncryption.AWS_MANAGED,
      deletionProtection: true,
      removalPolicy: RemovalPolicy.RETAIN,
    });

    this.connectionsTable = new dynamodb.Table(this, 'Connections', {
      partitionKey: { name: 'pk', type: dynamodb.AttributeType.STRING },
      sortKey: { name: 'sk', type: dynamodb.AttributeType.STRING },
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      encryption: dynamodb.TableEncryption.AWS_MANAGED,
      // API Gateway closes a WebSocket connection after two hours; its item expires then.
      timeToLiveAttribute: 'expiresAt',
      // Nothing in it outlives a connection: a new table loses only connections a reconnect restores.
      removalPolicy: RemovalPolicy.DESTROY,
    });
    NagSuppressions.addResourceSuppressions(this.connectionsTable, [
      {
        id: 'AwsSolutions-DDB3',
        reason:
          'Holds only the ids of open WebSocket connections, each gone within two hours (TTL); a restore would bring back closed connections. Nothing to recover: clients reconnect.',
      },
    ]);

    this.credentialsKey = new kms.Key(this, 'CredentialsKey', {
      description: 'Encrypts broker account passwords (encryption context: tenantId, accountId)',
      enableKeyRotation: true,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    this.credentialsKey.addAlias(`alias/${props.stage}-mt-copier-credentials`);

    this.metaApiTokenSecret = new secretsmanager.Secret(this, 'MetaApiToken', {
      secretName: `${props.stage}/mt-copier/metaapi-token`,
      description:
        'MetaApi API token. Created with a random placeholder: replace it with ' +
        '`aws secretsmanager put-secret-value --secret-id <arn> --secret-string <token>`.',
      removalPolicy: RemovalPolicy.RETAIN,
    });
    NagSuppressions.addResourceSuppressions(this.metaApiTokenSecret, [
      {
        id: 'AwsSolutions-SMG4',
        reason:
          "A MetaApi API token is issued in MetaApi's web app; no API rotates it, so no rotation Lambda can. The deployer replaces it, and the functions re-read the secret.",
      },
    ]);

    if (props.ctrader) {
      this.ctraderAppSecret = new secretsmanager.Secret(this, 'CtraderApp', {
        secretName: `${props.stage}/mt-copier/ctrader-app`,
        description:
          'cTrader Open API application, as JSON {"clientId","clientSecret"}. Created with a random placeholder: ' +
          'register an application at openapi.ctrader.com (redirect URI: the CtraderRedirectUri output) and put its credentials here.',
        removalPolicy: RemovalPolicy.RETAIN,
      });
      NagSuppressions.addResourceSuppressions(this.ctraderAppSecret, [
        {
          id: 'AwsSolutions-SMG4',
          reason: "cTrader issues an application's secret in its portal; no API rotates it. The deployer replaces it, and the functions re-read the secret.",
        },
      ]);
    }

    this.alarmTopic = new sns.Topic(this, 'AlarmTopic', {
      displayName: `mt-copier ${props.stage} alarms`,
      enforceSSL: true,
    });
    if (props.alarmEmail) {
      this.alarmTopic.addSubscription(new subscriptions.EmailSubscription(props.alarmEmail));
    }

    this.copyQueue = new CopyQueue(this, 'CopySignals', {
      stage: props.stage,
      consumerTimeout: COPY_WORKER_TIMEOUT,
      alarmTopic: this.alarmTopic,
    });

    this.userPool = new cognito.UserPool(this, 'UserPool', {
      userPoolName: `${props.stage}-mt-copier-users`,
      selfSignUpEnabled: false,
      signInAliases: { email: true },
      signInCaseSensitive: false,
      autoVerify: { email: true },
      standardAttributes: { email: { required: true, mutable: true } },
      passwordPolicy: {
        minLength: 12,
        requireLowercase: true,
        requireUppercase: true,
        requireDigits: true,
        requireSymbols: true,
        tempPasswordValidity: Duration.days(3),
      },
      mfa: cognito.Mfa.OPTIONAL,
      mfaSecondFactor: { otp: true, sms: false },
      accountRecovery: cognito.AccountRecovery.EMAIL_ONLY,
      deletionProtection: true,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    NagSuppressions.addResourceSuppressions(this.userPool, [
      {
        id: 'AwsSolutions-COG2',
        reason:
          'MFA (TOTP) is optional, not required: users are created by the deployer (no self sign-up), and scripted clients of the API sign in with a password. A deployer who wants it required sets it on the pool.',
      },
      {
        id: 'AwsSolutions-COG8',
        reason:
          "The Plus feature plan is billed per monthly active user; a self-hosted copier for a handful of traders doesn't need its threat protection to be safe (no self sign-up, strong passwords).",
      },
    ]);

    this.userPoolClient = this.userPool.addClient('ApiClient', {
      generateSecret: false,
      // Tokens come from InitiateAuth only: no hosted UI, no implicit grant.
      disableOAuth: true,
      authFlows: { userPassword: true, userSrp: true },
      preventUserExistenceErrors: true,
    });

    new CfnOutput(this, 'AlarmTopicArn', { value: this.alarmTopic.topicArn });
    new CfnOutput(this, 'CredentialsKeyArn', { value: this.credentialsKey.keyArn });
  }
}
