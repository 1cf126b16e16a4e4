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
export type { SequentOptions, TaskQueryOptions } from './sequent.js';
export { Sequent } from './sequent.js';
export type { Requirement, RequirementNode, SequentStepOptions, StepRequirement } from './step.js';
export { and, or, SequentEvent, SequentStep } from './step.js';
