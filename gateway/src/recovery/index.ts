export * from './recovery-router';
export * from './recovery-store';
