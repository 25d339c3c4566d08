import { App, Aspects } from 'aws-cdk-lib';
import { Annotations, Match } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { describe, expect, it } from 'vitest';
import { buildCopierApp } from '../../infra/copier-app';

/**
 * The cdk-nag `AwsSolutions` pack over both stacks. What it flags is fixed, or suppressed in
 * the infra code next to the resource, with the reason there; nothing is suppressed here.
 */
describe('cdk-nag AwsSolutions', () => {
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
  const stacks = buildCopierApp(app, {});
  Aspects.of(app).add(new AwsSolutionsChecks({ verbose: true }));

  for (const stack of [stacks.stateful, stacks.stateless]) {
    it(`finds nothing unsuppressed in ${stack.stackName}`, () => {
      const annotations = Annotations.fromStack(stack);
      const findings = [
        ...annotations.findError('*', Match.stringLikeRegexp('AwsSolutions-.*')),
        ...annotations.findWarning('*', Match.stringLikeRegexp('AwsSolutions-.*')),
      ].map((finding) => `${finding.id}: ${String(finding.entry.data).split('\n')[0]}`);
      expect(findings).toEqual([]);
    });
  }
});
