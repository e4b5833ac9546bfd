import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { advertiseFromNode, PUBLIC_ADDRESS_ANNOTATION, type NodeObject } from './node-advertise.js';

const node = (annotation: string | undefined, addresses: [string, string][]): NodeObject => ({
  metadata: { name: 'sip-1', ...(annotation === undefined ? {} : { annotations: { [PUBLIC_ADDRESS_ANNOTATION]: annotation, other: 'x' } }) },
  status: { addresses: addresses.map(([type, address]) => ({ type, address })) },
});

describe('advertiseFromNode: annotation > ExternalIP > hostIP', () => {
  test('the annotation wins over the ExternalIP and the hostIP, trimmed; a DNS name is fine', () => {
    assert.deepEqual(advertiseFromNode(node(' 203.0.113.7 ', [['InternalIP', '10.0.0.5'], ['ExternalIP', '198.51.100.9']]), '10.0.0.5'), { address: '203.0.113.7', source: 'annotation' });
    assert.deepEqual(advertiseFromNode(node('sip-1.example.net', [['ExternalIP', '198.51.100.9']]), '10.0.0.5'), { address: 'sip-1.example.net', source: 'annotation' });
  });

  test('no annotation: the first usable ExternalIP', () => {
    assert.deepEqual(advertiseFromNode(node(undefined, [['InternalIP', '10.0.0.5'], ['Hostname', 'sip-1'], ['ExternalIP', '198.51.100.9'], ['ExternalIP', '198.51.100.10']]), '10.0.0.5'), { address: '198.51.100.9', source: 'external-ip' });
    assert.deepEqual(advertiseFromNode(node(undefined, [['ExternalIP', '0.0.0.0'], ['ExternalIP', '198.51.100.10']]), '10.0.0.5'), { address: '198.51.100.10', source: 'external-ip' });
  });

  test('neither: the hostIP (the private side), as without the init container', () => {
    assert.deepEqual(advertiseFromNode(node(undefined, [['InternalIP', '10.0.0.5']]), '10.0.0.5'), { address: '10.0.0.5', source: 'host-ip' });
    assert.deepEqual(advertiseFromNode({}, '10.0.0.5'), { address: '10.0.0.5', source: 'host-ip' });
  });

  test('a malformed annotation is an error, never a silent fall-back to the private address', () => {
    for (const bad of ['', '  ', '0.0.0.0', '::', '203.0.113.7 198.51.100.9']) {
      assert.throws(() => advertiseFromNode(node(bad, [['ExternalIP', '198.51.100.9']]), '10.0.0.5'), new RegExp(PUBLIC_ADDRESS_ANNOTATION.replace('.', '\\.')), JSON.stringify(bad));
    }
    assert.throws(() => advertiseFromNode({}, ''), /hostIP/);
  });
});
