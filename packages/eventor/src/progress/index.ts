export type { FrameOptions } from './render.js';
export { endLine, renderFrame, startLine, taskLine } from './render.js';
export type { ProgressGroup, ProgressNode, StepCounts, Totals } from './state.js';
export { buildTree, ProgressState } from './state.js';
export type { ProgressOptions, ProgressView, ProgressViewOptions } from './view.js';
export { combineObservers, createProgressView } from './view.js';
