#!/usr/bin/perl
# Sends one message with Perl's Net::SMTP (libnet), as its manual page
# shows: new, mail, to, data, datasend, dataend, quit; Hello is the
# module's default.  netsmtp_send.pl HOST FROM TO...
use strict;
use warnings;
use Net::SMTP;

my ($host, $from, @to) = @ARGV;
my $smtp = Net::SMTP->new($host, Timeout => 20) or die "connect $host: $@\n";
$smtp->mail($from) or die "MAIL: " . $smtp->message;
$smtp->to(@to) or die "RCPT: " . $smtp->message;
$smtp->data();
$smtp->datasend("From: $from\nTo: " . join(', ', @to) . "\nSubject: Net::SMTP test\n\n");
$smtp->datasend("A message from Perl's Net::SMTP.\n");
$smtp->dataend() or die "DATA: " . $smtp->message;
$smtp->quit;
