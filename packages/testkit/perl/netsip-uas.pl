#!/usr/bin/perl
# A SIP UAS built on Net::SIP (an independent SIP stack), for interoperability tests.
# Listens on UDP and answers every INVITE with 200 OK and Net::SIP's own SDP (after a
# 180 Ringing and --ring-ms when that is > 0), or with --reject CODE; hangs up
# --hangup-after seconds after the ACK when given. Prints one JSON object per line:
#   {"event":"listening","host":..,"port":..}
#   {"event":"invite","call_id":..,"from":..,"to":..,"contact":..,"sdp":..}
#   {"event":"ringing","call_id":..}            180 sent
#   {"event":"rejected","call_id":..,"code":..} --reject sent
#   {"event":"established","call_id":..}        ACK received
#   {"event":"bye-received","call_id":..}       the peer hung up (BYE or CANCEL)
#   {"event":"bye-sent","call_id":..,"code":..} we hung up: the BYE's final status
#   {"event":"exit","calls":..}                 (or "timeout" first after --max-seconds)
# Exits once --calls calls have ended, or after --max-seconds.
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
my $hangup_after;
my $ring_ms = 0;
my $reject;
my $calls = 1;
my $max_seconds = 30;
my $debug;
GetOptions(
    'host=s'         => \$host,
    'port=i'         => \$port,
    'user=s'         => \$user,
    'hangup-after=f' => \$hangup_after,
    'ring-ms=i'      => \$ring_ms,
    'reject=i'       => \$reject,
    'calls=i'        => \$calls,
    'max-seconds=f'  => \$max_seconds,
    'debug=i'        => \$debug,
) or die "bad options\n";
Net::SIP::Debug->level($debug) if $debug;

my $json = JSON::PP->new->canonical;
sub out { my %e = @_; $e{at} = sprintf('%.3f', time()); print $json->encode(\%e), "\n"; }

my $sock = IO::Socket::INET->new(Proto => 'udp', LocalAddr => $host, LocalPort => $port)
    or die "cannot bind UDP $host:$port: $!\n";
$port = $sock->sockport;
my $ua = Net::SIP::Simple->new(from => "sip:$user\@$host:$port", leg => $sock);

my $ended = 0;
my $stop = 0;
my %done;
sub ended_one {
    my $id = shift;
    return if !defined $id || $done{$id}++;
    $ended++;
    $stop = 1 if $ended >= $calls;
}

# Call::bye reports no status: send the BYE through the endpoint to see the response code
sub send_bye {
    my ($call, $done) = @_;
    $call->{endpoint}->new_request('BYE', $call->{ctx}, sub {
        my ($endpoint, $ctx, $error, $code, $packet) = @_;
        return if $code && $code =~ /^1/;
        $done->($code // 0, $error);
        $call->cleanup;
    });
}

$ua->listen(
    cb_create => sub {
        my ($call, $request, $leg, $from) = @_;
        my $id = scalar $request->get_header('call-id');
        my $body = ($request->as_parts)[3];
        out(
            event   => 'invite',
            call_id => $id,
            from    => scalar($request->get_header('from')),
            to      => scalar($request->get_header('to')),
            contact => scalar($request->get_header('contact')),
            sdp     => (defined $body ? $body : ''),
        );
        my $answered = 0;
        $call->set_param(
            call_id   => $id,
            recv_bye  => sub { my ($param) = @_; out(event => 'bye-received', call_id => $id); ended_one($id); },
            cb_invite => sub {
                my ($c, $req) = @_;
                return if $answered++;    # a re-INVITE: 200
                if ($reject) {
                    out(event => 'rejected', call_id => $id, code => $reject + 0);
                    $ua->add_timer(0.5, sub { ended_one($id) });    # time for the ACK
                    return $req->create_response($reject);
                }
                return if $ring_ms <= 0;    # 200 at once
                # 180 now, the 200 (with the SDP Net::SIP made) after --ring-ms
                $ua->add_timer($ring_ms / 1000, sub {
                    my $ok = $req->create_response('200', 'OK', {}, $c->{param}{sdp});
                    $ua->{endpoint}->new_response($c->{ctx}, $ok, $leg, $from);
                });
                out(event => 'ringing', call_id => $id);
                return $req->create_response('180', 'Ringing');
            },
        );
        return 1;
    },
    cb_established => sub {
        my ($status, $call) = @_;
        my $id = $call->get_param('call_id');
        out(event => 'established', call_id => $id);
        return if !defined $hangup_after || $call->get_param('hangup_scheduled');
        $call->set_param(hangup_scheduled => 1);
        $ua->add_timer($hangup_after, sub {
            send_bye($call, sub {
                my ($code) = @_;
                out(event => 'bye-sent', call_id => $id, code => $code + 0);
                ended_one($id);
            });
        });
    },
);

out(event => 'listening', host => $host, port => $port + 0);
$ua->add_timer($max_seconds, sub { out(event => 'timeout'); $stop = 1; });
$ua->loop(\$stop);
out(event => 'exit', calls => $ended + 0);
exit 0;
