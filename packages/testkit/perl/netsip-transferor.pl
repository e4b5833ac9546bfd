#!/usr/bin/perl
# A transferor built on Net::SIP (an independent SIP stack), for interoperability tests:
# plays a customer PBX that places one call over UDP to --to (sent to --proxy host:port
# when given), --refer-after seconds after the answer sends an in-dialog REFER with
# Refer-To: <--refer-to>, answers every NOTIFY of the implicit subscription with 200 and,
# --bye-after seconds after the NOTIFY that ends it (Subscription-State: terminated),
# hangs up (RFC 5589 §6: the transferor leaves; the transferred call stays). Prints one
# JSON object per line:
#   {"event":"listening","host":..,"port":..}
#   {"event":"provisional","code":..}
#   {"event":"final","status":"OK"|"FAIL","code":..,"call_id":..}
#   {"event":"refer-sent","refer_to":..,"cseq":..}
#   {"event":"refer-response","code":..,"refer_sub":..}   the REFER's final status
#   {"event":"notify","cseq":..,"event_header":..,"subscription_state":..,
#    "content_type":..,"status":..,"sipfrag":..}          each NOTIFY (answered 200);
#                                                         status: the sipfrag's code
#   {"event":"bye-received"}                              the peer hung up
#   {"event":"bye-sent","code":..}                        we hung up: the BYE's final status
#   {"event":"exit","result":..}                          (or "timeout" first after --max-seconds)
use strict;
use warnings;
use IO::Socket::INET;
use Getopt::Long;
use JSON::PP;
use Time::HiRes qw(time);
use Net::SIP qw(:all);

$| = 1;
my $host = '127.0.0.1';
my $port = 0;
my $user = 'netsip';
my $to;
my $proxy;
my $refer_to;
my $refer_after = 0.2;
my $bye_after = 0.2;
my $max_seconds = 30;
my $debug;
GetOptions(
    'host=s'        => \$host,
    'port=i'        => \$port,
    'user=s'        => \$user,
    'to=s'          => \$to,
    'proxy=s'       => \$proxy,
    'refer-to=s'    => \$refer_to,
    'refer-after=f' => \$refer_after,
    'bye-after=f'   => \$bye_after,
    'max-seconds=f' => \$max_seconds,
    'debug=i'       => \$debug,
) or die "bad options\n";
die "--to and --refer-to are required\n" if !$to || !$refer_to;
Net::SIP::Debug->level($debug) if $debug;

my $json = JSON::PP->new->canonical;
sub out { my %e = @_; $e{at} = sprintf('%.3f', time()); print $json->encode(\%e), "\n"; }

my $sock = IO::Socket::INET->new(Proto => 'udp', LocalAddr => $host, LocalPort => $port)
    or die "cannot bind UDP $host:$port: $!\n";
$port = $sock->sockport;
my $me = "sip:$user\@$host:$port";
my $ua = Net::SIP::Simple->new(
    from => $me,
    leg  => $sock,
    ($proxy ? (outgoing_proxy => $proxy) : ()),
);
out(event => 'listening', host => $host, port => $port + 0);

my $stop = 0;
my $result = 'none';
my $answered;
my $subscription_over;
my $call = $ua->invite($to,
    cb_preliminary => sub {
        my ($self, $code, $packet) = @_;
        out(event => 'provisional', code => $code + 0);
    },
    cb_final => sub {
        my ($status, $self, %info) = @_;
        my $packet = $info{packet};
        my $code = $packet ? $packet->code : ($info{code} // 0);
        out(
            event   => 'final',
            status  => "$status",
            code    => $code + 0,
            call_id => ($packet ? scalar($packet->get_header('call-id')) : undef),
        );
        $answered = 1;
        if ($status ne 'OK') { $result = "failed $code"; $stop = 1; }
    },
    # Net::SIP::Simple::Call has already answered the NOTIFY with 200 when this runs
    cb_notify => sub {
        my ($self, $packet) = @_;
        my $body = ($packet->as_parts)[3] // '';
        my ($line) = split /\r?\n/, $body;
        my ($code) = ($line // '') =~ m{^SIP/2\.0 (\d{3})};
        my $state = scalar($packet->get_header('subscription-state')) // '';
        out(
            event              => 'notify',
            cseq               => scalar($packet->get_header('cseq')),
            event_header       => scalar($packet->get_header('event')),
            subscription_state => $state,
            content_type       => scalar($packet->get_header('content-type')),
            status             => (defined $code ? $code + 0 : undef),
            sipfrag            => $line,
        );
        $subscription_over = 1 if $state =~ /^\s*terminated/i;
    },
    recv_bye => sub { out(event => 'bye-received'); $result = 'remote hangup'; $stop = 1; },
);
$ua->add_timer($max_seconds, sub { out(event => 'timeout'); $result = 'timeout'; $stop = 1; });
$ua->loop(\$answered, \$stop);

# Endpoint::new_request makes the callback it is given the context's callback for every
# later request in the dialog too; the NOTIFYs must still reach the Call's own handler
# (which answers them), so the REFER's callback is kept to the REFER's transaction.
sub in_dialog_request {
    my ($method, $on_final, %header) = @_;
    my $ctx = $call->{ctx};
    my $dialog_cb = $ctx->{_callback};
    $call->{endpoint}->new_request($method, $ctx, sub {
        my ($endpoint, $c, $error, $code, $packet) = @_;
        return if $code && $code =~ /^1/;
        $on_final->($code // 0, $packet, $error);
    }, undef, %header);
    $ctx->set_callback($dialog_cb);
    return $ctx->{cseq};
}

if (!$stop) {
    $ua->loop($refer_after, \$stop);
}
my $refer_final;
if (!$stop) {
    my $cseq = in_dialog_request('REFER', sub {
        my ($code, $packet) = @_;
        out(
            event     => 'refer-response',
            code      => $code + 0,
            refer_sub => ($packet ? scalar($packet->get_header('refer-sub')) : undef),
        );
        $refer_final = 1;
        if ($code !~ /^2/) { $result = "refer failed $code"; $subscription_over = 1; }
    }, 'refer-to' => "<$refer_to>", 'referred-by' => "<$me>");
    out(event => 'refer-sent', refer_to => $refer_to, cseq => $cseq + 0);
    $ua->loop(\$subscription_over, \$stop);
}
if (!$stop) {
    $ua->loop($bye_after, \$stop);
}
if (!$stop) {
    my $byed = 0;
    $call->{endpoint}->new_request('BYE', $call->{ctx}, sub {
        my ($endpoint, $ctx, $error, $code, $packet) = @_;
        return if $code && $code =~ /^1/;
        out(event => 'bye-sent', code => ($code // 0) + 0);
        $call->cleanup;
        $result = 'transferred' if $result eq 'none';
        $byed = 1;
    });
    $ua->loop(\$byed, \$stop);
}
out(event => 'exit', result => $result);
exit 0;
