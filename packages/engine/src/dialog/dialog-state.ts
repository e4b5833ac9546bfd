// The dialog state of one leg (RFC 3261 §12): plain data and the rules that change it. No I/O,
// no timers, nothing live: what `toJSON` returns is all there is, so a snapshot can be stored
// (JetStream KV) and `DialogState.fromJSON` brings the same dialog back.
import {
  detached, parseNameAddr, parseUri, SipUri,
  type DialogRequestContext, type NameAddr, type SipRequest, type SipResponse, type Uri,
} from '@switchboard/sip';

export type DialogPhase = 'early' | 'confirmed' | 'terminated';

/** A dialog in strings and numbers: `JSON.stringify(dialog)` writes this shape. */
export interface DialogSnapshot {
  readonly role: 'uas' | 'uac';
  readonly phase: DialogPhase;
  readonly callId: string;
  readonly localUri: string;
  readonly remoteUri: string;
  readonly localTag: string;
  readonly remoteTag?: string;
  readonly localCSeq: number;
  readonly remoteCSeq: number;
  readonly routeSet: readonly string[];
  readonly remoteTarget: string;
}

const NO_ROUTES: readonly string[] = Object.freeze([]);

/**
 * The addresses (our URI, the peer's, the remote target, the route set) are kept as the text a
 * snapshot writes, detached from the message they came in, and parsed again only for a request
 * in the dialog: a dialog is held for every leg of every call that is up, and as parsed objects
 * they were ~840 bytes a leg, plus the text of the message they were views of (issue 17).
 */
export class DialogState {
  phase: DialogPhase = 'early';
  remoteTag: string | undefined;
  /** The CSeq of our last request in the dialog (§12.2.1.1: each new one takes the next). */
  localCSeq = 0;
  /** The CSeq of the peer's last request; -1 until one is known (§12.2.2: "empty"). */
  remoteCSeq = -1;
  private routeText: readonly string[] = NO_ROUTES;
  private remoteTargetText: string;
  private readonly localUriText: string;
  private readonly remoteUriText: string;
  readonly localTag: string;
  readonly callId: string;
  /**
   * §12.1.1, §12.1.2: a dialog opened with a SIPS Request-URI is secure: our Contact is a SIPS
   * URI, and every hop of it is TLS.
   */
  readonly secure: boolean;

  constructor(
    readonly role: 'uas' | 'uac',
    callId: string,
    /** Our URI, without our tag (From of our requests as UAC, To of the INVITE as UAS). */
    localUri: NameAddr | string,
    remoteUri: NameAddr | string,
    localTag: string,
    remoteTarget: Uri | string,
  ) {
    this.callId = detached(callId);
    this.localUriText = detached(localUri.toString());
    this.remoteUriText = detached(remoteUri.toString());
    this.localTag = detached(localTag);
    this.remoteTargetText = detached(remoteTarget.toString());
    const target = typeof remoteTarget === 'string' ? parseUri(remoteTarget) : remoteTarget;
    this.secure = target instanceof SipUri && target.scheme === 'sips';
  }

  get localUri(): NameAddr {
    return parseNameAddr(this.localUriText);
  }

  get remoteUri(): NameAddr {
    return parseNameAddr(this.remoteUriText);
  }

  get remoteTarget(): Uri {
    return parseUri(this.remoteTargetText);
  }

  set remoteTarget(uri: Uri) {
    this.remoteTargetText = detached(uri.toString());
  }

  /** In the order our requests carry it as Route. */
  get routeSet(): readonly NameAddr[] {
    return this.routeText.map((r) => parseNameAddr(r, true));
  }

  set routeSet(routes: readonly NameAddr[]) {
    this.routeText = routes.length === 0 ? NO_ROUTES : routes.map((r) => detached(r.toString()));
  }

  /**
   * §12.1.1: the UAS takes the remote tag from From, the remote CSeq from the INVITE, the route
   * set from Record-Route in the order received, and the remote target from Contact.
   */
  acceptInvite(invite: SipRequest): void {
    const tag = invite.headers.from?.tag;
    this.remoteTag = tag === undefined ? undefined : detached(tag);
    this.remoteCSeq = invite.headers.cseq?.seq ?? 0;
    this.routeSet = invite.headers.recordRoute;
    const contact = invite.headers.contact[0];
    if (contact !== undefined) this.remoteTarget = contact.uri;
  }

  /**
   * §12.1.2: the UAC takes the remote tag from To, the route set from Record-Route in reverse,
   * and the remote target from Contact, of a provisional that creates the early dialog and of
   * the 2xx that confirms it (which may differ: the 2xx wins). A UAS learns nothing here.
   */
  learnFromResponse(response: SipResponse): void {
    if (this.role !== 'uac') return;
    const tag = response.headers.to?.tag;
    if (tag !== undefined) this.remoteTag = detached(tag);
    this.routeSet = response.headers.recordRoute.slice().reverse();
    const contact = response.headers.contact[0];
    if (contact !== undefined) this.remoteTarget = contact.uri;
  }

  /**
   * §12.2.2: a request whose CSeq is not above the last one is out of order (the caller answers
   * 500); any other raises the remote CSeq. A terminated dialog no longer orders requests.
   */
  admitRequest(request: SipRequest): boolean {
    if (this.phase === 'terminated' || request.method === 'ACK') return true;
    const seq = request.headers.cseq?.seq ?? 0;
    if (seq <= this.remoteCSeq) return false;
    this.remoteCSeq = seq;
    return true;
  }

  /** §12.2.2: a re-INVITE's Contact replaces the remote target (a target refresh). */
  refreshTarget(request: SipRequest): void {
    const contact = request.headers.contact[0];
    if (request.method === 'INVITE' && contact !== undefined) this.remoteTarget = contact.uri;
  }

  /** §12.2.1.1: the CSeq of our next request in the dialog. */
  nextCSeq(): number {
    return ++this.localCSeq;
  }

  confirm(): void {
    this.phase = 'confirmed';
  }

  terminate(): void {
    this.phase = 'terminated';
  }

  /** RFC 3891 §3: does a Replaces header's Call-ID and tags name this dialog? (No remote tag yet: ours alone decides.) */
  isNamedBy(callId: string, tags: readonly string[]): boolean {
    return callId === this.callId && tags.includes(this.localTag) && (this.remoteTag === undefined || tags.includes(this.remoteTag));
  }

  /** §12.2.1.1: what a request inside the dialog is built from; `contact` is ours, which the transport decides. */
  requestContext(contact: NameAddr): DialogRequestContext {
    const remote = this.remoteUri;
    return {
      callId: this.callId,
      local: this.localUri.withTag(this.localTag),
      remote: this.remoteTag === undefined ? remote : remote.withTag(this.remoteTag),
      remoteTarget: this.remoteTarget,
      routeSet: this.routeSet,
      contact,
    };
  }

  toJSON(): DialogSnapshot {
    return {
      role: this.role, phase: this.phase, callId: this.callId,
      localUri: this.localUriText, remoteUri: this.remoteUriText,
      localTag: this.localTag, ...(this.remoteTag === undefined ? {} : { remoteTag: this.remoteTag }),
      localCSeq: this.localCSeq, remoteCSeq: this.remoteCSeq,
      routeSet: [...this.routeText], remoteTarget: this.remoteTargetText,
    };
  }

  static fromJSON(s: DialogSnapshot): DialogState {
    const dialog = new DialogState(s.role, s.callId, s.localUri, s.remoteUri, s.localTag, s.remoteTarget);
    dialog.phase = s.phase;
    dialog.remoteTag = s.remoteTag === undefined ? undefined : detached(s.remoteTag);
    dialog.localCSeq = s.localCSeq;
    dialog.remoteCSeq = s.remoteCSeq;
    dialog.routeText = s.routeSet.length === 0 ? NO_ROUTES : s.routeSet.map(detached);
    // a snapshot that does not parse fails here, at the takeover, not at the dialog's next request
    void dialog.localUri, dialog.remoteUri, dialog.routeSet;
    return dialog;
  }
}
