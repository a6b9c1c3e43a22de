import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BinaryWriter, WireType } from '@bufbuild/protobuf/wire';
import { protoMetadata } from '@platform/contracts/fault/v1/fault';
import { Utf8Fields } from '../src/utf8';

const SET_FAULT = '/fault.v1.FaultService/SetFault';

/** SetFaultRequest { fault: Fault { method: <bytes> } }, as a client could send it. */
function setFault(method: Uint8Array): Uint8Array {
  const fault = new BinaryWriter().tag(1, WireType.LengthDelimited).bytes(method).finish();
  return new BinaryWriter().tag(1, WireType.LengthDelimited).bytes(fault).finish();
}

describe('Utf8Fields', () => {
  const fields = new Utf8Fields([protoMetadata]);

  it('names a nested string field that is not UTF-8', () => {
    assert.equal(fields.invalidField(SET_FAULT, setFault(Buffer.from([0x61, 0xff]))), 'fault.method');
    assert.equal(
      fields.invalidField(
        '/fault.v1.FaultService/ClearFaults',
        new BinaryWriter()
          .tag(1, WireType.LengthDelimited)
          .bytes(Buffer.from([0xc0, 0x80]))
          .finish(),
      ),
      'method',
    );
  });

  it('passes valid UTF-8, other methods, and leaves malformed bytes to the decoder', () => {
    assert.equal(fields.invalidField(SET_FAULT, setFault(Buffer.from('user.v1.UserService/GetUser 😀'))), undefined);
    assert.equal(fields.invalidField('/other.v1.Service/Method', setFault(Buffer.from([0xff]))), undefined);
    for (const malformed of [Buffer.from([0x0a, 0x05, 0x01]), Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff]), Buffer.from([0x0b])]) {
      assert.equal(fields.invalidField(SET_FAULT, malformed), undefined);
    }
  });
});
