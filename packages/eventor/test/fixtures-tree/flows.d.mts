interface RunResult {
  ok: boolean;
  status: 'success' | 'failure' | 'incomplete';
  runId: string;
  recovery: number;
}

export function sequent(): Promise<unknown>;
export function batchFlow(options: {
  store: string;
  runMode?: 'restart' | 'recover' | 'continue';
  runId?: string;
  failIn?: string;
  alert?: boolean;
}): Promise<RunResult>;
export function nestedFlow(options: { store: string; runId?: string }): Promise<RunResult>;
export function outsideFlow(options: { store: string; runId?: string }): Promise<RunResult>;
export function hostileTree(options: { store: string; name: string; runId?: string }): Promise<RunResult>;
export function gatedTree(options: { store: string; runId?: string }): Promise<{
  runId: string;
  open(): void;
  done: Promise<RunResult>;
  started: Promise<void>;
}>;
export function emptyFlow(options: { store: string; runId?: string }): Promise<RunResult>;
