import { createRequire } from 'node:module';
import nact from 'nact';
import type { ActorBehaviour, ActorKernel, ActorRef } from './actor-kernel.js';

const { start, spawn, spawnStateless, dispatch, stop } = nact;

type NactRef = ReturnType<typeof spawn>;

/** Messages one turn handles by itself before the rest go through nact (a ping-pong between two actors must not hold the event loop). */
const SAME_TURN_MAX = 256;

/**
 * What the kernel touches of a nact actor past nact's API (nact 7.6, `lib/actor.js`), to keep a
 * quiet actor small: nact gives every actor two Maps for children ours never have (~370 bytes),
 * and keeps the Immediate of its last turn, which holds the Immediates queued after it in that
 * turn (Node does not unlink the ones that ran). `nact-kernel.test.ts` fails if these change.
 */
export interface NactActorInternals {
  children: Map<string, unknown>;
  childReferences: Map<string, unknown>;
  immediate: unknown;
}

const nactSystems = createRequire(import.meta.url)('nact/lib/system-map.js') as { find(systemName: string, ref: NactRef): unknown };

/** nact's actor behind `ref`, if it is one whose fields are what the kernel expects. */
export function nactActorOf(ref: NactRef): NactActorInternals | undefined {
  const actor = nactSystems.find((ref as { system: { name: string } }).system.name, ref) as Partial<NactActorInternals> | undefined;
  return actor?.children instanceof Map && actor.childReferences instanceof Map && 'immediate' in actor ? (actor as NactActorInternals) : undefined;
}

/** The children of every actor the kernel spawns (all leaves of the supervisor): none, ever. */
class NoChildren extends Map<string, unknown> {
  override set(): this {
    throw new Error('an actor of the kernel spawned a child');
  }
}
export const NO_CHILDREN: ReadonlyMap<string, unknown> = new NoChildren();

/**
 * One actor as the kernel keeps it, and the handle others tell it through: one object per actor,
 * its methods on the prototype. A kernel holds one per dialog and call in progress, so what it
 * keeps beside nact's own actor counts per held call (issue 17: a table entry, a handle and two
 * closures each were ~180 bytes an actor, three actors a call).
 */
class ActorCell<M> implements ActorRef<M> {
  ref!: NactRef;
  actor: NactActorInternals | undefined;
  /** Messages handed to nact for this actor and not yet begun: while any are, the next waits behind them. */
  inNact = 0;
  private released = false;

  constructor(
    private readonly kernel: NactKernel,
    readonly id: string,
    readonly behaviour: ActorBehaviour<M>,
  ) {}

  // a message for an actor that has stopped (a late timer, a crash) is dropped, never thrown
  tell(message: M): void {
    if (this.kernel.cellOf(this.id) === this) this.kernel.deliver(this as ActorCell<never>, message as never);
  }

  /** The behaviour's `stopped`, run once: by nact a turn after the stop, or by `shutdown` at once. */
  release(): void {
    if (this.released) return;
    this.released = true;
    this.behaviour.stopped?.();
  }
}

/**
 * The kernel on nact. Every actor is a child of one quiet supervisor that never receives a
 * message: nact copies a parent's children map for each message the parent handles, so a
 * parent with thousands of dialog children must not be on the message path. Our own map
 * finds actors by id; names are the ids we give (nact's generated names can collide).
 * Supervision is explicit: a crash goes to the behaviour's `crashed`, then the actor stops
 * (nact's default only logs and drops).
 */
export class NactKernel implements ActorKernel {
  private readonly system = start();
  private readonly supervisor = spawnStateless(this.system, () => undefined, 'dialogs');
  private readonly actors = new Map<string, ActorCell<never>>();
  /** An actor's `receive` is running (a turn nact began): what it tells is handled before the turn ends. */
  private running = false;
  /** Messages told within this turn, in order: cell, message, cell, message… */
  private readonly sameTurn: unknown[] = [];

  get size(): number {
    return this.actors.size;
  }

  spawn<M>(id: string, behaviour: ActorBehaviour<M>): ActorRef<M> {
    if (this.actors.has(id)) throw new Error(`actor ${id} exists`);
    const cell = new ActorCell<M>(this, id, behaviour);
    // one handler and one afterStop for every actor, the cell as nact's state: no closures per actor
    cell.ref = spawn(this.supervisor, this.handle as never, id, { initialState: cell, afterStop: this.afterStop } as never);
    cell.actor = nactActorOf(cell.ref);
    if (cell.actor !== undefined) cell.actor.children = cell.actor.childReferences = NO_CHILDREN as Map<string, unknown>;
    this.actors.set(id, cell as ActorCell<never>);
    return cell;
  }

  /**
   * Every actor's nact handler: one message, then what it told within the turn. A throw goes to
   * the behaviour's `crashed` here, not to nact's supervision (nact's default only logs).
   */
  private readonly handle = (cell: ActorCell<never>, message: never): ActorCell<never> => {
    cell.inNact--;
    // this turn's Immediate is running: nact needs it no more (see NactActorInternals)
    if (cell.actor !== undefined) cell.actor.immediate = undefined;
    this.running = true;
    try {
      cell.behaviour.receive(message);
    } catch (error) {
      this.crashed(cell, error, message);
    } finally {
      this.drain();
      this.running = false;
    }
    return cell;
  };

  private readonly afterStop = (cell: ActorCell<never>): void => {
    this.forget(cell);
    cell.release();
  };

  /**
   * A message to a live actor. Told from within an actor's turn, it is handled in that same turn,
   * once the teller's `receive` has returned (issue 17: one SIP message's consequences — a leg, its
   * call, the other leg — cost one turn of the event loop and one nact dispatch, not one each);
   * from anywhere else (a NATS callback, a timer, a promise), or to an actor with messages still
   * waiting in nact, it goes through nact as before. Either way an actor's messages from one
   * sender arrive in order, one at a time.
   */
  deliver(cell: ActorCell<never>, message: never): void {
    if (this.running && cell.inNact === 0 && this.sameTurn.length < SAME_TURN_MAX * 2) {
      this.sameTurn.push(cell, message);
      return;
    }
    cell.inNact++;
    dispatch(cell.ref, message);
  }

  /** Handles what was told within this turn, and what that tells in turn, in order. */
  private drain(): void {
    const queue = this.sameTurn;
    for (let i = 0; i < queue.length; i += 2) {
      const cell = queue[i] as ActorCell<never>;
      const message = queue[i + 1] as never;
      if (this.actors.get(cell.id) !== cell) continue; // stopped meanwhile: dropped, as nact drops it
      try {
        cell.behaviour.receive(message);
      } catch (error) {
        this.crashed(cell, error, message);
      }
    }
    queue.length = 0;
  }

  /** Supervision: `receive` threw, the behaviour's `crashed` runs, then the actor stops (once: it may have stopped itself). */
  private crashed(cell: ActorCell<never>, error: unknown, message: never): void {
    try {
      cell.behaviour.crashed(error, message);
    } catch (failure) {
      // a supervisor that throws: an unhandled rejection, as under nact, not the teller's crash
      void Promise.reject(failure);
    } finally {
      if (this.actors.get(cell.id) === cell) this.stop(cell.id);
    }
  }

  /** The live actor named `id` (a cell stopped and replaced by a new one of the same id is not it). */
  cellOf(id: string): ActorCell<never> | undefined {
    return this.actors.get(id);
  }

  find<M>(id: string): ActorRef<M> | undefined {
    return this.actors.get(id) as ActorRef<M> | undefined;
  }

  stop(id: string): void {
    const cell = this.actors.get(id);
    if (cell === undefined) return;
    this.actors.delete(id);
    stop(cell.ref);
  }

  private forget(cell: ActorCell<never>): void {
    if (this.actors.get(cell.id) === cell) this.actors.delete(cell.id);
  }

  /**
   * Stops every actor and releases it before returning: nact would run `stopped` a turn later,
   * when whoever shut down (a test, a worker on its way out) has moved on and the actors' timers
   * keep the process alive for up to Timer D (32 s).
   */
  shutdown(): void {
    const cells = [...this.actors.values()];
    this.actors.clear();
    this.sameTurn.length = 0;
    for (const { ref } of cells) stop(ref);
    stop(this.system);
    let failure: { error: unknown } | undefined;
    for (const cell of cells) {
      try {
        cell.release();
      } catch (error) {
        failure ??= { error };
      }
    }
    if (failure !== undefined) throw failure.error;
  }
}
