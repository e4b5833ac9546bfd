#!/usr/bin/perl
# A SIP UAC built on Net::SIP (an independent SIP stack), for interoperability tests.
# Places one call over UDP to --to (sent to --proxy host:port when given, else to the
# URI's host), waits for the answer, hangs up --hangup-after seconds later (unless the
# peer hangs up first) and prints one JSON object per line:
#   {"event":"listening","host":..,"port":..}   our UDP socket
#   {"event":"provisional","code":..}            each 1xx
#   {"event":"final","status":"OK"|"FAIL","code":..,"call_id":..,"to":..,"sdp":..}
#   {"event":"bye-received"}                     the peer hung up
#   {"event":"bye-sent","code":..}               we hung up: the BYE's final status
#   {"event":"exit","result":..}                 (or "timeout" first after --max-seconds)
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
my $hangup_after = 1;
my $max_seconds = 30;
my $debug;
GetOptions(
    'host=s'         => \$host,
    'port=i'         => \$port,
    'user=s'         => \$user,
    'to=s'           => \$to,
    'proxy=s'        => \$proxy,
    'hangup-after=f' => \$hangup_after,
    'max-seconds=f'  => \$max_seconds,
    'debug=i'        => \$debug,
) or die "bad options\n";
die "--to is required\n" if !$to;
Net::SIP::Debug->level($debug) if $debug;

my $json = JSON::PP->new->canonical;
sub out { my %e = @_; $e{at} = sprintf('%.3f', time()); print $json->encode(\%e), "\n"; }

my $sock = IO::Socket::INET->new(Proto => 'udp', LocalAddr => $host, LocalPort => $port)
    or die "cannot bind UDP $host:$port: $!\n";
$port = $sock->sockport;
my $ua = Net::SIP::Simple->new(
    from => "sip:$user\@$host:$port",
    leg  => $sock,
    ($proxy ? (outgoing_proxy => $proxy) : ()),
);
out(event => 'listening', host => $host, port => $port + 0);

my $stop = 0;
my $result = 'none';
my $final;
my $call = $ua->invite($to,
    cb_preliminary => sub {
        my ($self, $code, $packet) = @_;
        out(event => 'provisional', code => $code + 0);
    },
    cb_final => sub {
        my ($status, $self, %info) = @_;
        my $code = $info{packet} ? $info{packet}->code : ($info{code} // 0);
        my $body = $info{packet} ? ($info{packet}->as_parts)[3] : undef;
        my $packet = $info{packet};
        out(
            event   => 'final',
            status  => "$status",
            code    => $code + 0,
            call_id => ($packet ? scalar($packet->get_header('call-id')) : undef),
            to      => ($packet ? scalar($packet->get_header('to')) : undef),
            sdp     => (defined $body ? $body : ''),
        );
        $final = 1;
        if ($status ne 'OK') { $result = "failed $code"; $stop = 1; }
    },
    recv_bye => sub { out(event => 'bye-received'); $result = 'remote hangup'; $stop = 1; },
);
$ua->add_timer($max_seconds, sub { out(event => 'timeout'); $result = 'timeout'; $stop = 1; });
$ua->loop(\$final, \$stop);
if (!$stop) {
    $ua->loop($hangup_after, \$stop);
    if (!$stop) {
        my $byed = 0;
        $call->{endpoint}->new_request('BYE', $call->{ctx}, sub {
            my ($endpoint, $ctx, $error, $code, $packet) = @_;
            return if $code && $code =~ /^1/;
            out(event => 'bye-sent', code => ($code // 0) + 0);
            $call->cleanup;
            $result = 'local hangup';
            $byed = 1;
        });
        $ua->loop(\$byed, \$stop);
    }
}
out(event => 'exit', result => $result);
exit 0;
