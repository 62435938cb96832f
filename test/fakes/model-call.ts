import type { ServerResponse } from 'node:http';
import {
  CUT_AFTER_EVENTS,
  cutAfter,
  type Fault,
  type FaultSwitch,
  faultAnswer,
  isCut,
  sendFault,
} from './faults.js';
import { openSse, type Protocol } from './protocol.js';
import { decideReply, findCwd, type Reply } from './script.js';
import type { Usage } from './usage.js';

/** How a model call was answered: the script's reply, or what the server was switched to do. */
export type ModelCallAnswer =
  | Reply['kind']
  | 'hang'
  /** A status fault, e.g. `fault-529`. */
  | `fault-${number}`
  /** A cut fault: the stream began, then the connection was destroyed. */
  | 'cut'
  /** A call with a key in `refuseKeys`: 401, in the API's own shape. */
  | 'refused';

/** What a model call's record gets from its answer. */
export interface ModelCallOutcome {
  answer: ModelCallAnswer;
  fault?: Fault;
  usage?: Usage;
}

/** What the server is switched to do with model calls now; its setters change it while it runs. */
export interface ModelCallState {
  hang: boolean;
  faults: FaultSwitch;
  refused: Set<string>;
  delayMs: number;
  dumpEnv: boolean;
  /** What every reply reports (see `plannedUsage`). */
  usage: Usage;
}

/** One model call, in order: a refused key, the current fault, a hang, else the script's reply. */
export function answerModelCall(
  res: ServerResponse,
  call: { protocol: Protocol; body: Record<string, unknown>; bodyText: string; apiKey: string | undefined },
  state: ModelCallState,
): ModelCallOutcome {
  const { protocol, body, apiKey } = call;
  if (apiKey !== undefined && state.refused.has(apiKey)) {
    sendFault(res, protocol.name, { status: 401 });
    return { answer: 'refused' };
  }
  // A fault, status or cut, answers instead of a hang: its `times` count the calls it answered.
  const fault = state.faults.take();
  if (fault && !isCut(fault)) {
    sendFault(res, protocol.name, fault);
    return { answer: faultAnswer(fault), fault };
  }
  if (state.hang && !fault) {
    // The stream opens, then nothing: the client waits until it gives up or is killed.
    openSse(res);
    res.write(': the fake model server hangs on purpose\n\n');
    return { answer: 'hang' };
  }
  const reply = decideReply({
    cli: protocol.cli,
    tools: protocol.tools(body),
    hasToolResult: protocol.hasToolResult(body),
    cwd: findCwd(call.bodyText),
    apiKey,
    dumpEnv: state.dumpEnv,
  });
  if (fault) {
    // A real reply that dies mid-stream: what it would have reported never arrives.
    cutAfter(res, CUT_AFTER_EVENTS);
    protocol.send(res, body, reply, state.usage);
    return { answer: faultAnswer(fault), fault };
  }
  const usage = protocol.send(res, body, reply, state.usage);
  return usage ? { answer: reply.kind, usage } : { answer: reply.kind };
}
