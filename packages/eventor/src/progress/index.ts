export type { FrameOptions } from './render.js';
export { endLine, renderFrame, startLine, taskLine } from './render.js';
export type { ProgressNode, StepCounts, Totals } from './state.js';
export { buildTree, isBookkeeping, ProgressState } from './state.js';
export type { ProgressView, ProgressViewOptions } from './view.js';
export { combineObservers, createProgressView } from './view.js';
