import * as grpc from '@grpc/grpc-js';
import { gateway as gatewayProtos, google } from '@hyperledger/fabric-protos';
import { Any } from 'google-protobuf/google/protobuf/any_pb';

export interface ErrorDetail {
  address: string;
  mspId: string;
  message: string;
}

/**
 * A gRPC error as Fabric's gateway returns it: a status code and message, and the per-endorser
 * or per-orderer details in the `grpc-status-details-bin` trailer (google.rpc.Status with
 * gateway.ErrorDetail entries), which fabric-gateway decodes into `GatewayError.details`.
 */
export class GrpcStatusError extends Error {
  override readonly name = 'GrpcStatusError';

  constructor(
    readonly code: grpc.status,
    message: string,
    readonly details: ErrorDetail[] = [],
  ) {
    super(message);
  }

  toServiceError(): Partial<grpc.ServiceError> {
    const metadata = new grpc.Metadata();
    if (this.details.length > 0) {
      const status = new google.rpc.Status();
      status.setCode(this.code);
      status.setMessage(this.message);
      status.setDetailsList(
        this.details.map((d) => {
          const detail = new gatewayProtos.ErrorDetail();
          detail.setAddress(d.address);
          detail.setMspId(d.mspId);
          detail.setMessage(d.message);
          const any = new Any();
          any.setTypeUrl('type.googleapis.com/gateway.ErrorDetail');
          any.setValue(detail.serializeBinary());
          return any;
        }),
      );
      metadata.set('grpc-status-details-bin', Buffer.from(status.serializeBinary()));
    }
    return { code: this.code, details: this.message, metadata };
  }
}

/** Any thrown value as a gRPC error for a unary callback or a stream's `destroy`. */
export function toServiceError(err: unknown): Partial<grpc.ServiceError> {
  if (err instanceof GrpcStatusError) return err.toServiceError();
  return { code: grpc.status.INTERNAL, details: err instanceof Error ? err.message : String(err) };
}
