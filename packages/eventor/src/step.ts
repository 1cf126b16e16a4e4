/**
 * `@flow/eventor/step`: what a step module needs, without the engine. Importing it loads no store,
 * no drizzle and no better-sqlite3, so a process or worker step starts fast; `currentStep()` here is
 * the same function, on the same context, as the one `@flow/eventor` exports.
 */
export type { Logger, LogLevel } from './logger.js';
export type { StepContext } from './runtime/context.js';
export { currentStep } from './runtime/context.js';
