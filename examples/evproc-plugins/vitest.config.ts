import { defineProject } from 'vitest/config';

export default defineProject({
  test: {
    name: 'example-evproc-plugins',
    include: ['test/**/*.test.ts'],
  },
});
