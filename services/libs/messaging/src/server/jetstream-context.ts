import { BaseRpcContext } from '@nestjs/microservices';
import { JsMsg, MsgHdrs } from 'nats';

/** What a handler learns about the message it handles: `@Ctx() ctx: JetStreamContext`. */
export class JetStreamContext extends BaseRpcContext<[JsMsg]> {
  constructor(message: JsMsg) {
    super([message]);
  }

  /** The raw message; the transport acks, naks or terms it, so a handler should not. */
  get message(): JsMsg {
    return this.args[0];
  }

  get subject(): string {
    return this.message.subject;
  }

  get headers(): MsgHdrs | undefined {
    return this.message.headers;
  }

  /** 1 on the first delivery. */
  get deliveryCount(): number {
    return this.message.info.deliveryCount;
  }

  get redelivered(): boolean {
    return this.message.redelivered;
  }

  get stream(): string {
    return this.message.info.stream;
  }

  get streamSequence(): number {
    return this.message.seq;
  }

  get consumer(): string {
    return this.message.info.consumer;
  }

  /** The publisher's Nats-Msg-Id, if it set one. */
  get msgId(): string | undefined {
    return this.headers?.get('Nats-Msg-Id') || undefined;
  }
}
