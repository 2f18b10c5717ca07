// @ts-check
/**
 * Prints the closing line CI reads: "tests: N passed, N failed, N skipped".
 * A suite that failed to run at all (a syntax error, a failing beforeAll) counts as one failure.
 */
class SummaryReporter {
  /** @param {unknown} _contexts @param {import('@jest/test-result').AggregatedResult} results */
  onRunComplete(_contexts, results) {
    const failed = results.numFailedTests + results.numRuntimeErrorTestSuites;
    const skipped = results.numPendingTests + results.numTodoTests;
    process.stdout.write(`\ntests: ${results.numPassedTests} passed, ${failed} failed, ${skipped} skipped\n`);
  }
}

module.exports = SummaryReporter;
