# The testnet's fixed topology (sourced by the testnet scripts). Addresses match docker-compose.yml.
# shellcheck shell=bash
NET_PREFIX=172.30.53
ORGS=(org1 org2 org3 org4)
ALL_ZONES=(. com net io uk co.uk ogr1.com ogr2.net ogr3.io ogr4.co.uk)
declare -A ORG_HOST=([org1]=validator1.ogr1.com [org2]=val2.ogr2.net [org3]=validator3.ogr3.io [org4]=othername4.ogr4.co.uk)
declare -A ORG_ZONE=([org1]=ogr1.com [org2]=ogr2.net [org3]=ogr3.io [org4]=ogr4.co.uk)
declare -A ORG_SERVER_DIR=([org1]=ogr1 [org2]=ogr2 [org3]=ogr3 [org4]=ogr4)
declare -A ORG_SERVICE=([org1]=validator1 [org2]=validator2 [org3]=validator3 [org4]=validator4)
declare -A ORG_CLIENT_SERVICE=([org1]=autonity1 [org2]=autonity2 [org3]=autonity3 [org4]=autonity4)
declare -A ORG_NS_SERVICE=([org1]=ns-ogr1 [org2]=ns-ogr2 [org3]=ns-ogr3 [org4]=ns-ogr4)
declare -A ADDR=(
  [root]=$NET_PREFIX.2 [resolver]=$NET_PREFIX.3 [com]=$NET_PREFIX.11 [net]=$NET_PREFIX.12 [io]=$NET_PREFIX.13 [uk]=$NET_PREFIX.14
  [ogr1]=$NET_PREFIX.21 [ogr2]=$NET_PREFIX.22 [ogr3]=$NET_PREFIX.23 [ogr4]=$NET_PREFIX.24
  [org1]=$NET_PREFIX.31 [org2]=$NET_PREFIX.32 [org3]=$NET_PREFIX.33 [org4]=$NET_PREFIX.34
)
COMPOSE_PROJECT_NAME=${COMPOSE_PROJECT_NAME:-dnsceremony-testnet}
export COMPOSE_PROJECT_NAME
