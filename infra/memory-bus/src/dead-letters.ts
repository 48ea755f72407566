import { type Observable, Subject } from 'rxjs';

/** An event a group gave up on: identifiers, positions and the error's name — no payload, no message. */
export interface DeadLetter {
  group: string;
  eventId: string;
  type: string;
  streamId: string;
  streamVersion: number;
  globalPosition: number;
  attempts: number;
  errorKind: string;
  at: string;
}

export interface DeadLetters {
  /** Dead letters since start (a metric). */
  readonly count: number;
  /** The most recent ones, oldest first (bounded). */
  list(): readonly DeadLetter[];
  /** Each new dead letter, for alerting or a metrics exporter. */
  readonly recorded$: Observable<DeadLetter>;
}

export interface DeadLetterRecorder extends DeadLetters {
  record(letter: DeadLetter): void;
  close(): void;
}

/**
 * Without a broker there is no dead-letter topic: the event itself stays in the event
 * store at its position, so remembering where it is (and telling the log) is enough to
 * replay it once the handler is fixed.
 */
export function createDeadLetters(keep = 1000): DeadLetterRecorder {
  const recent: DeadLetter[] = [];
  const recorded = new Subject<DeadLetter>();
  let count = 0;
  return {
    get count() {
      return count;
    },
    list: () => [...recent],
    recorded$: recorded.asObservable(),
    record(letter) {
      count++;
      recent.push(letter);
      if (recent.length > keep) recent.shift();
      recorded.next(letter);
    },
    close: () => recorded.complete(),
  };
}
