import nact from 'nact';
import type { ActorBehaviour, ActorKernel, ActorRef } from './actor-kernel.js';

const { start, spawn, spawnStateless, dispatch, stop } = nact;

type NactRef = ReturnType<typeof spawn>;

interface Entry {
  ref: NactRef;
  handle: ActorRef<unknown>;
  /** The behaviour's `stopped`, run once: by nact a turn after the stop, or by `shutdown` at once. */
  release: () => void;
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
  private readonly actors = new Map<string, Entry>();

  get size(): number {
    return this.actors.size;
  }

  spawn<M>(id: string, behaviour: ActorBehaviour<M>): ActorRef<M> {
    if (this.actors.has(id)) throw new Error(`actor ${id} exists`);
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      behaviour.stopped?.();
    };
    const ref = spawn(
      this.supervisor,
      (state: undefined, message: M) => {
        behaviour.receive(message);
        return state;
      },
      id,
      {
        onCrash: (message: M, error: unknown, ctx: { stop: unknown }) => {
          try {
            behaviour.crashed(error, message);
          } finally {
            this.forget(id);
          }
          return ctx.stop;
        },
        afterStop: () => {
          this.forget(id);
          release();
        },
      } as never,
    );
    // a message for an actor that has stopped (a late timer, a crash) is dropped, never thrown
    const handle: ActorRef<M> = {
      id,
      tell: (message: M) => {
        if (this.actors.get(id)?.ref === ref) dispatch(ref, message);
      },
    };
    this.actors.set(id, { ref, handle: handle as ActorRef<unknown>, release });
    return handle;
  }

  find<M>(id: string): ActorRef<M> | undefined {
    return this.actors.get(id)?.handle as ActorRef<M> | undefined;
  }

  stop(id: string): void {
    const entry = this.actors.get(id);
    if (entry === undefined) return;
    this.actors.delete(id);
    stop(entry.ref);
  }

  private forget(id: string): void {
    this.actors.delete(id);
  }

  /**
   * Stops every actor and releases it before returning: nact would run `stopped` a turn later,
   * when whoever shut down (a test, a worker on its way out) has moved on and the actors' timers
   * keep the process alive for up to Timer D (32 s).
   */
  shutdown(): void {
    const entries = [...this.actors.values()];
    this.actors.clear();
    for (const { ref } of entries) stop(ref);
    stop(this.system);
    let failure: { error: unknown } | undefined;
    for (const { release } of entries) {
      try {
        release();
      } catch (error) {
        failure ??= { error };
      }
    }
    if (failure !== undefined) throw failure.error;
  }
}
