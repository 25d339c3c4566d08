import { App } from 'aws-cdk-lib';
import { buildCopierApp } from './copier-app';

const app = new App();
buildCopierApp(app);
app.synth();
