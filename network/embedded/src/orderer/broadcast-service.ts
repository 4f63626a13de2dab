import type * as grpc from '@grpc/grpc-js';
import { common, orderer as ordererProtos } from '@hyperledger/fabric-protos';
import type { OrdererNode } from './orderer-node';

/** `orderer.AtomicBroadcast/Broadcast`: one BroadcastResponse per envelope, in order. */
export function broadcastHandler(
  node: OrdererNode,
): grpc.handleBidiStreamingCall<Buffer, ordererProtos.BroadcastResponse> {
  return (call) => {
    call.on('data', (envelope: Buffer) => {
      const result = node.broadcast(envelope);
      const response = new ordererProtos.BroadcastResponse();
      response.setStatus(result.status as common.StatusMap[keyof common.StatusMap]);
      response.setInfo(result.info);
      call.write(response);
    });
    call.on('end', () => call.end());
    call.on('error', () => undefined);
  };
}
