export * from './auth.ts';
export * from './constants.ts';
export * from './invitation.ts';
export * from './text.ts';
export * from './tokenizer.ts';
