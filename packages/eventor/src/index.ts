export { formatValue, type SerializedError } from './describe.js';
export type { Duration } from './duration.js';
export { parseDuration } from './duration.js';
export { FlowConfigError, FlowDefinitionError, FlowError, StepFailedError, StoreError } from './errors.js';
export type {
  AddAssocOptions,
  AddEventOptions,
  PendingWork,
  RunResult,
  TaskRecord,
} from './eventor.js';
export { Eventor } from './eventor.js';
export type { Logger, LogLevel } from './logger.js';
export type { EventRef, StepRef } from './model/event.js';
export type { ExprItem, ExprNode } from './model/expression.js';
export { and, or } from './model/expression.js';
export { ResourcePool } from './model/resource-pool.js';
export type { TaskStatus } from './model/status.js';
export { RunMode, StepReplay, StepStatus } from './model/status.js';
export type {
  ResourceClaim,
  StepArgs,
  StepConfig,
  StepOptions,
  StepResult,
  StepSettings,
  StepWork,
  TaskConstruct,
} from './model/step.js';
export type {
  TreeContainer,
  TreeDescription,
  TreeLeaf,
  TreeNode,
  TreeRequirement,
} from './model/tree.js';
export type { EventorConfig, EventorOptions, RunOptions, TaskQueryOptions } from './options.js';
export { checkStepOptions } from './options.js';
export type { ProgressGroup, ProgressOptions } from './progress/index.js';
export type { TestClockOptions } from './runtime/clock.js';
export { TestClock } from './runtime/clock.js';
export type { StepContext } from './runtime/context.js';
export { currentStep } from './runtime/context.js';
export type { RunObserver } from './runtime/observer.js';
export { ChildExitError } from './runtime/runners/index.js';
