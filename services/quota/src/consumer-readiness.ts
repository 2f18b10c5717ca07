/** Whether the message consumers run: until they do (e.g. while the stream does not exist yet), /readyz says no. */
export class ConsumerReadiness {
  private started = false;

  markStarted(): void {
    this.started = true;
  }

  isReady(): boolean {
    return this.started;
  }
}
