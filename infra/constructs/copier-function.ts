import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import { NagSuppressions } from 'cdk-nag';
import { Construct } from 'constructs';

/** Root of the repository: entries, the lock file and `node_modules` are resolved from here. */
export const PROJECT_ROOT = fileURLToPath(new URL('../../', import.meta.url));

/**
 * Lets CommonJS dependencies bundled into the ESM output call `require` for Node built-ins,
 * which esbuild's ESM output otherwise rejects at run time ("Dynamic require is not supported").
 */
const ESM_REQUIRE_BANNER = "import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);";

export interface CopierFunctionProps {
  /** The handler file, relative to the repository root (e.g. `functions/api/api.handler.ts`). */
  readonly entry: string;
  /** Always explicit: a consumer's timeout is what its queue's visibility timeout is derived from. */
  readonly timeout: Duration;
  /** `POWERTOOLS_SERVICE_NAME` of the function's logs, metrics and traces. */
  readonly serviceName: string;
  /** @default 512 */
  readonly memorySize?: number;
  /** @default ACTIVE: every invocation traced (X-Ray bills per trace) */
  readonly tracing?: lambda.Tracing;
  /** Names and non-secret values only: secrets are fetched at run time from their ARN. */
  readonly environment?: Record<string, string>;
  readonly description?: string;
  /** Retries of asynchronous invocations. @default 2 (Lambda's default) */
  readonly retryAttempts?: number;
  /** Concurrency reserved for this function. @default none */
  readonly reservedConcurrentExecutions?: number;
}

/**
 * A Lambda function of this project with the house defaults: arm64, Node.js 22, active
 * X-Ray tracing, a log group kept one month, and an ESM bundle made by the local esbuild.
 *
 * The AWS SDK v3 is bundled rather than taken from the runtime, so the clients that run in
 * AWS are the versions pinned in the lock file and tested locally.
 */
export class CopierFunction extends Construct {
  readonly function: nodejs.NodejsFunction;
  readonly logGroup: logs.LogGroup;

  constructor(scope: Construct, id: string, props: CopierFunctionProps) {
    super(scope, id);

    this.logGroup = new logs.LogGroup(this, 'LogGroup', {
      retention: logs.RetentionDays.ONE_MONTH,
      removalPolicy: RemovalPolicy.DESTROY,
    });

    this.function = new nodejs.NodejsFunction(this, 'Function', {
      entry: path.join(PROJECT_ROOT, props.entry),
      handler: 'handler',
      projectRoot: PROJECT_ROOT,
      depsLockFilePath: path.join(PROJECT_ROOT, 'package-lock.json'),
      runtime: lambda.Runtime.NODEJS_22_X,
      architecture: lambda.Architecture.ARM_64,
      memorySize: props.memorySize ?? 512,
      timeout: props.timeout,
      tracing: props.tracing ?? lambda.Tracing.ACTIVE,
      logGroup: this.logGroup,
      retryAttempts: props.retryAttempts,
      reservedConcurrentExecutions: props.reservedConcurrentExecutions,
      description: props.description,
      environment: {
        ...props.environment,
        POWERTOOLS_SERVICE_NAME: props.serviceName,
        NODE_OPTIONS: '--enable-source-maps',
      },
      bundling: {
        format: nodejs.OutputFormat.ESM,
        mainFields: ['module', 'main'],
        banner: ESM_REQUIRE_BANNER,
        target: 'node22',
        minify: true,
        sourceMap: true,
        sourcesContent: false,
        externalModules: [],
      },
    });
    NagSuppressions.addResourceSuppressions(
      this.function,
      [
        {
          id: 'AwsSolutions-L1',
          reason:
            'Node.js 22 is the runtime the bundles are built for (esbuild target node22) and tested with; a newer runtime is a tested change, not a silent one.',
        },
        {
          id: 'AwsSolutions-IAM4',
          reason: "AWSLambdaBasicExecutionRole only lets the function write its own logs; the log group is the function's, with its retention set here.",
          appliesTo: ['Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole'],
        },
        {
          id: 'AwsSolutions-IAM5',
          reason:
            'X-Ray (active tracing) takes no resource-level permissions: PutTraceSegments and PutTelemetryRecords are granted on * by Lambda. Every other statement names its resource.',
          appliesTo: ['Resource::*'],
        },
      ],
      true,
    );
  }
}
