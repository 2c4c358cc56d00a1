/*
 * net_loopback.c - a target for the tcp, udp and ip provider tests: on 127.0.0.1, one TCP
 * connection carries BYTES bytes from a client to a server (the client closes first), then a
 * client sends DATAGRAMS UDP datagrams of 100 bytes to a server, one at a time, each read before
 * the next is sent. Brings the loopback interface up if it is down (a bare VM guest). Prints
 * what the tests filter on and check against:
 *   tcp server-port P client-port C received N
 *   udp server-port P client-port C received N
 *   refused port P
 * (the last: a connection attempt to a port nobody listens on, answered by a reset).
 *
 * Usage: net_loopback [BYTES [DATAGRAMS]]   (defaults 1000000, 50)
 */
#include <arpa/inet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

static void die(const char *what) { perror(what); exit(1); }

static void loopback_up(void) {
  int s = socket(AF_INET, SOCK_DGRAM, 0);
  struct ifreq ifr;
  memset(&ifr, 0, sizeof ifr);
  strcpy(ifr.ifr_name, "lo");
  if (s < 0 || ioctl(s, SIOCGIFFLAGS, &ifr) < 0) die("SIOCGIFFLAGS lo");
  if (!(ifr.ifr_flags & IFF_UP)) {
    ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
    if (ioctl(s, SIOCSIFFLAGS, &ifr) < 0) die("SIOCSIFFLAGS lo");
  }
  close(s);
}

static int bound_socket(int type, struct sockaddr_in *addr) {
  int s = socket(AF_INET, type, 0);
  socklen_t len = sizeof *addr;
  memset(addr, 0, sizeof *addr);
  addr->sin_family = AF_INET;
  addr->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (s < 0 || bind(s, (struct sockaddr *)addr, sizeof *addr) < 0) die("bind");
  if (getsockname(s, (struct sockaddr *)addr, &len) < 0) die("getsockname");
  return s;
}

static int local_port(int s) {
  struct sockaddr_in a;
  socklen_t len = sizeof a;
  if (getsockname(s, (struct sockaddr *)&a, &len) < 0) die("getsockname");
  return ntohs(a.sin_port);
}

static void tcp_transfer(long bytes) {
  struct sockaddr_in addr;
  int listener = bound_socket(SOCK_STREAM, &addr);
  if (listen(listener, 1) < 0) die("listen");
  int client = socket(AF_INET, SOCK_STREAM, 0);
  if (client < 0 || connect(client, (struct sockaddr *)&addr, sizeof addr) < 0) die("connect");
  int server = accept(listener, NULL, NULL);
  if (server < 0) die("accept");
  static char buf[65536];
  memset(buf, 'x', sizeof buf);
  long sent = 0, received = 0;
  // Alternate writes and reads so that neither side's buffers fill up.
  while (sent < bytes) {
    long chunk = bytes - sent < (long)sizeof buf ? bytes - sent : (long)sizeof buf;
    ssize_t w = write(client, buf, (size_t)chunk);
    if (w <= 0) die("write");
    sent += w;
    while (received < sent) {
      ssize_t r = read(server, buf, sizeof buf);
      if (r <= 0) die("read");
      received += r;
    }
  }
  // The client closes first (FIN_WAIT_1, FIN_WAIT_2), the server sees end of file and closes.
  int client_port = local_port(client);
  close(client);
  if (read(server, buf, sizeof buf) != 0) die("read at end of file");
  close(server);
  close(listener);
  printf("tcp server-port %d client-port %d received %ld\n", ntohs(addr.sin_port), client_port, received);
}

static void udp_datagrams(long count) {
  struct sockaddr_in addr, from;
  int server = bound_socket(SOCK_DGRAM, &addr);
  int client = bound_socket(SOCK_DGRAM, &from);
  char buf[100];
  memset(buf, 'u', sizeof buf);
  long received = 0;
  for (long i = 0; i < count; i++) {
    if (sendto(client, buf, sizeof buf, 0, (struct sockaddr *)&addr, sizeof addr) != sizeof buf) die("sendto");
    if (recv(server, buf, sizeof buf, 0) != sizeof buf) die("recv");
    received++;
  }
  printf("udp server-port %d client-port %d received %ld\n", ntohs(addr.sin_port), ntohs(from.sin_port), received);
  close(client);
  close(server);
}

static void tcp_refused(void) {
  struct sockaddr_in addr;
  int unused = bound_socket(SOCK_STREAM, &addr);
  close(unused);
  int client = socket(AF_INET, SOCK_STREAM, 0);
  if (client < 0) die("socket");
  if (connect(client, (struct sockaddr *)&addr, sizeof addr) == 0) die("connect to a closed port succeeded");
  close(client);
  printf("refused port %d\n", ntohs(addr.sin_port));
}

int main(int argc, char **argv) {
  long bytes = argc > 1 ? atol(argv[1]) : 1000000;
  long datagrams = argc > 2 ? atol(argv[2]) : 50;
  setvbuf(stdout, NULL, _IOLBF, 0);
  loopback_up();
  tcp_transfer(bytes);
  udp_datagrams(datagrams);
  tcp_refused();
  return 0;
}
