/** `a`: the leg that brought the call in (UAS); `b1`, `b2`…: the attempts the engine placed (UAC), one per target tried. */
export type LegName = string;

/** Why a placed leg failed: an answer of the far end, or something that stood for one. */
export type FailureCause = 'response' | 'timeout' | 'transport-error' | 'no-answer' | 'no-ack';

/** What legs tell their call. */
export type CallMessage =
  | { type: 'provisional'; leg: LegName; status: number; reason: string; body: Uint8Array; contentType: string | undefined }
  | { type: 'answered'; leg: LegName; body: Uint8Array; contentType: string | undefined }
  | { type: 'failed'; leg: LegName; status: number; reason: string; cause: FailureCause }
  | { type: 'confirmed'; leg: LegName }
  | { type: 'cancelled'; leg: LegName }
  | { type: 'bye'; leg: LegName; reason?: string }
  | { type: 'request'; leg: LegName; token: string; method: string; body: Uint8Array; contentType: string | undefined }
  | { type: 'request-answered'; leg: LegName; token: string; status: number; reason: string; body?: Uint8Array; contentType?: string | undefined }
  | { type: 'ended'; leg: LegName; cause: string }
  /** The call's own steps that waited on I/O: the trunk limit's verdict, the next target made ready. */
  | { type: 'admitted' }
  | { type: 'prepared'; attempt: number; address?: string; status?: number; reason?: string };
