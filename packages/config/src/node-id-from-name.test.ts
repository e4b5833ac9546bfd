import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { NodeId } from './cluster-sections.js';
import { nodeIdFromName } from './node-id-from-name.js';

describe('nodeIdFromName: a node id from a pod or node name', () => {
  it('keeps a name that is already an id', () => {
    assert.equal(nodeIdFromName('w1'), 'w1');
    assert.equal(nodeIdFromName('worker7'), 'worker7');
  });

  it('turns a Deployment pod name into a valid id that ends in a hash of the name', () => {
    const id = nodeIdFromName('switchboard-worker-7d9f8c6b5-x2k4q');
    assert.ok(NodeId.safeParse(id).success, id);
    assert.match(id, /7d9f8c6b5x2k4q[0-9a-f]{8}$/, 'the unique end of the pod name, then the hash');
    assert.equal(nodeIdFromName('switchboard-worker-7d9f8c6b5-x2k4q'), id, 'the same name, the same id');
  });

  it('gives names that differ only in their separators different ids', () => {
    assert.notEqual(nodeIdFromName('ip-10-0-1-23.ec2.internal'), nodeIdFromName('ip-10-0-12-3.ec2.internal'));
  });

  it('keeps long names with a common prefix apart and within 32 characters', () => {
    const a = nodeIdFromName('gke-production-cluster-sip-pool-0f1e2d3c-abcd');
    const b = nodeIdFromName('gke-production-cluster-sip-pool-0f1e2d3c-abce');
    for (const id of [a, b]) assert.ok(NodeId.safeParse(id).success, id);
    assert.notEqual(a, b);
  });

  it('derives an id even from a name without any letter or digit', () => {
    assert.ok(NodeId.safeParse(nodeIdFromName('---')).success);
  });
});
