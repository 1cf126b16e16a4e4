export { requiredBy, requires, want } from './decorators.js';
export type { MissingRequirement } from './errors.js';
export {
  EvprocError,
  ProcNamespaceError,
  RequirementsError,
  ReregisterError,
  StopProcessing,
} from './errors.js';
export type { EventArgs } from './event.js';
export { Event, NamedEvent } from './event.js';
export type { ProcNamespaces } from './proc-namespace.js';
export { Processor } from './processor.js';
export type {
  AnyHandler,
  EventMap,
  EventOf,
  Handler,
  HandlerResult,
  HandlerWrapper,
  LoadFromOptions,
  Logger,
  OnError,
  Predicate,
  ProcessorOptions,
} from './types.js';
