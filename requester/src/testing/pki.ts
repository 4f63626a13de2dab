export { makeCa, type Issued, type IssueOptions, type TestCa } from '@phr/test-support';
