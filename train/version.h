#ifndef AA_VERSION_H
#define AA_VERSION_H
#define AA_VERSION "0.1.0"
#endif
