// Binding the node's sockets: a UDP socket per listener, a stream server (TCP or TLS) per listener.
import dgram from 'node:dgram';
import net from 'node:net';
import type { Logger } from 'pino';
import type { BoundListener } from './peer-address.js';

export interface UdpListener {
  socket: dgram.Socket;
  family: 4 | 6;
  bound: BoundListener;
}

/** Binds a UDP socket on `host:port` (0: any free port); each datagram goes to `onDatagram`. */
export function bindUdp(
  host: string, port: number, advertise: string, log: Logger,
  onDatagram: (socket: dgram.Socket, data: Buffer, rinfo: dgram.RemoteInfo, bound: BoundListener) => void,
): Promise<UdpListener> {
  const family = net.isIPv6(host) ? 6 : 4;
  const socket = dgram.createSocket({ type: family === 6 ? 'udp6' : 'udp4', ipv6Only: family === 6 });
  const bound: BoundListener = { protocol: 'udp', address: host, port, advertise };
  socket.on('message', (data, rinfo) => onDatagram(socket, data, rinfo, bound));
  socket.on('error', (err) => log.error({ err, host, port }, 'UDP socket error'));
  return new Promise((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(port, host, () => {
      socket.off('error', reject);
      bound.port = socket.address().port;
      resolve({ socket, family, bound });
    });
  });
}

/** Starts a TCP or TLS server listening on `bound` (its port is filled in when it was 0). */
export function listenOn(server: net.Server, bound: BoundListener, log: Logger): Promise<{ server: net.Server; bound: BoundListener }> {
  const { address: host, port } = bound;
  server.on('error', (err) => log.error({ err, host, port }, `${bound.protocol.toUpperCase()} listener error`));
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host, port, ipv6Only: net.isIPv6(host) }, () => {
      server.off('error', reject);
      bound.port = (server.address() as net.AddressInfo).port;
      resolve({ server, bound });
    });
  });
}
