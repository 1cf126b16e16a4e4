import { FlowError } from '@flow/eventor';

/** What kind of mistake a `SequentError` reports; `code` is `SEQUENT_` + the upper-cased kind. */
export type SequentErrorKind =
  | 'definition' // a bad step name, option or tree shape
  | 'requires' // a requirement that cannot be built: wrong shape, another flow, itself, its container
  | 'cycle' // steps that wait for each other
  | 'compiled'; // the flow was changed after its first run()

/**
 * A flow that sequent cannot build; `steps` holds the paths it names.
 * @example
 * try { s11.addStep('s112', { requires: [[s11, StepStatus.success]] }); }
 * catch (error) { if (error instanceof SequentError) console.error(error.code, error.steps); }
 */
export class SequentError extends FlowError {
  readonly kind: SequentErrorKind;
  /** Paths of the steps the message names, in the order it names them. */
  readonly steps: readonly string[];

  constructor(
    kind: SequentErrorKind,
    message: string,
    options: { steps?: readonly string[]; cause?: unknown } = {},
  ) {
    super(message, { code: `SEQUENT_${kind.toUpperCase()}`, cause: options.cause });
    this.kind = kind;
    this.steps = options.steps ?? [];
  }
}
