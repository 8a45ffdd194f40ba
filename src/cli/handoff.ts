/** placeholder replaced below */
export const handoffCommand = { usage: 'handoff', async run() { return 2; } };
