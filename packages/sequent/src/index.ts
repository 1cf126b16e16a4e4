export type {
  Duration,
  Logger,
  LogLevel,
  PendingWork,
  ResourceClaim,
  RunOptions,
  RunResult,
  StepArgs,
  StepConfig,
  StepContext,
  StepResult,
  StepWork,
  TaskRecord,
  TestClockOptions,
} from '@flow/eventor';
export {
  currentStep,
  FlowConfigError,
  FlowDefinitionError,
  FlowError,
  ResourcePool,
  RunMode,
  StepFailedError,
  StepReplay,
  StepStatus,
  StoreError,
  TestClock,
} from '@flow/eventor';
export type { SequentErrorKind } from './errors.js';
export { SequentError } from './errors.js';
export type { Requirement, RequirementNode, StepRequirement } from './requires.js';
export { and, or, SequentEvent } from './requires.js';
export type { SequentOptions, TaskQueryOptions } from './sequent.js';
export { Sequent } from './sequent.js';
export type { SequentStepOptions } from './step.js';
export { SequentStep } from './step.js';
