/*
 * dtrace-ts D library: the udp provider's argument types (illumos and Oracle's udp.d) and their
 * translators. A datagram's ports and addresses come from its headers (arg2 the IP header,
 * arg4 the UDP header): the local end is the source of a sent datagram and the destination of a
 * received one.
 */

typedef struct udpinfo {
	uint16_t udp_sport;		/* source port */
	uint16_t udp_dport;		/* destination port */
	uint16_t udp_length;		/* total length */
	uint16_t udp_checksum;		/* headers + data checksum */
	struct udphdr *udp_hdr;		/* the raw UDP header */
} udpinfo_t;

typedef struct udpsinfo {
	uintptr_t udps_addr;
	uint16_t udps_lport;		/* local port */
	uint16_t udps_rport;		/* remote port */
	string udps_laddr;		/* local address, as a string */
	string udps_raddr;		/* remote address, as a string */
} udpsinfo_t;

translator udpinfo_t < struct udphdr *U > {
	udp_sport = U != NULL ? ntohs(U->source) : 0;
	udp_dport = U != NULL ? ntohs(U->dest) : 0;
	udp_length = U != NULL ? ntohs(U->len) : 0;
	udp_checksum = U != NULL ? ntohs(U->check) : 0;
	udp_hdr = U;
};

translator udpsinfo_t < struct udp_sock *S > {
	udps_addr = (uintptr_t)S;
	udps_lport = arg4 == NULL ? 0 : ntohs(probename == "send" ?
	    ((struct udphdr *)arg4)->source : ((struct udphdr *)arg4)->dest);
	udps_rport = arg4 == NULL ? 0 : ntohs(probename == "send" ?
	    ((struct udphdr *)arg4)->dest : ((struct udphdr *)arg4)->source);
	udps_laddr = arg2 == NULL ? "<unknown>" :
	    *(uint8_t *)arg2 >> 4 == 4 ? inet_ntoa(probename == "send" ?
	    &((struct iphdr *)arg2)->saddr : &((struct iphdr *)arg2)->daddr) :
	    inet_ntoa6(probename == "send" ?
	    &((struct ipv6hdr *)arg2)->saddr : &((struct ipv6hdr *)arg2)->daddr);
	udps_raddr = arg2 == NULL ? "<unknown>" :
	    *(uint8_t *)arg2 >> 4 == 4 ? inet_ntoa(probename == "send" ?
	    &((struct iphdr *)arg2)->daddr : &((struct iphdr *)arg2)->saddr) :
	    inet_ntoa6(probename == "send" ?
	    &((struct ipv6hdr *)arg2)->daddr : &((struct ipv6hdr *)arg2)->saddr);
};
