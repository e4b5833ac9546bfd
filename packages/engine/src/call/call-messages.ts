/** `a`: the leg that brought the call in (UAS); `b`: the leg the engine placed (UAC). */
export type LegName = 'a' | 'b';

/** What legs tell their call. */
export type CallMessage =
  | { type: 'provisional'; leg: LegName; status: number; reason: string; body: Uint8Array; contentType: string | undefined }
  | { type: 'answered'; leg: LegName; body: Uint8Array; contentType: string | undefined }
  | { type: 'failed'; leg: LegName; status: number; reason: string }
  | { type: 'confirmed'; leg: LegName }
  | { type: 'cancelled'; leg: LegName }
  | { type: 'bye'; leg: LegName; reason?: string }
  | { type: 'request'; leg: LegName; token: string; method: string; body: Uint8Array; contentType: string | undefined }
  | { type: 'request-answered'; leg: LegName; token: string; status: number; reason: string; body?: Uint8Array; contentType?: string | undefined }
  | { type: 'ended'; leg: LegName; cause: string };
