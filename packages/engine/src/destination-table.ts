import type { TransportInfo } from '@switchboard/wire';
import type { Destination } from './protocol/sip-link.js';

/** Past this many distinct peers the table starts again: sharing is lost for a while, nothing else. */
const MAX_DESTINATIONS = 4_096;

/**
 * One shared, frozen Destination per peer and transport listener. Each inbound envelope decodes
 * to new strings and objects; a call keeps where its INVITE came from (its ingress) and each
 * leg its peer for as long as it is up, so without sharing every held call kept its own copies
 * of the same few addresses (~600 bytes a call, issue 17). Destinations are values: nobody
 * changes one, a leg replaces its peer whole.
 */
export class DestinationTable {
  private readonly known = new Map<string, Destination>();

  /** The Destination of a message that came through `t`. */
  of(t: TransportInfo): Destination {
    const key = `${t.protocol}|${t.remoteAddress}|${t.remotePort}|${t.nodeId}|${t.localAddress}|${t.localPort}|${t.connectionId ?? ''}` +
      `|${t.udp?.address ?? ''}|${t.udp?.port ?? ''}|${t.tcp?.address ?? ''}|${t.tcp?.port ?? ''}|${t.tls?.address ?? ''}|${t.tls?.port ?? ''}`;
    const known = this.known.get(key);
    if (known !== undefined) return known;
    if (this.known.size >= MAX_DESTINATIONS) this.known.clear();
    const d: Destination = Object.freeze({
      protocol: t.protocol, address: t.remoteAddress, port: t.remotePort, nodeId: t.nodeId,
      localAddress: t.localAddress, localPort: t.localPort,
      ...(t.connectionId === undefined ? {} : { connectionId: t.connectionId }),
      ...(t.udp === undefined ? {} : { udp: Object.freeze({ ...t.udp }) }),
      ...(t.tcp === undefined ? {} : { tcp: Object.freeze({ ...t.tcp }) }),
      ...(t.tls === undefined ? {} : { tls: Object.freeze({ ...t.tls }) }),
    });
    this.known.set(key, d);
    return d;
  }
}
