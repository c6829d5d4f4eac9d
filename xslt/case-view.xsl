<?xml version="1.0" encoding="UTF-8"?>
<!--
  case-view.xsl - the message that created a case, as the case's own
  resources: a collection Bundle without the MessageHeader, each resource
  with a stable id and every urn:uuid reference rewritten to Type/id, the
  Task stamped with the case's referensnummer, status and version.

  Ids: the Task is the referensnummer; every other resource is
  "<refnr>-<position of its entry in the stored message>", so the same
  document always yields the same ids.

  Parameters (all strings, set by src/map/view.c):
    base            the FHIR base URL, for fullUrl ("http://host/fhir")
    refnr           referensnummer
    status          KLAS status code (a row of GW_CASE_STATUS_ROWS,
                    src/klas/state.h: CodeSystem klas-case-status)
    status_display  its Swedish name
    task_status     FHIR Task.status for it
    version         meta.versionId
    updated         meta.lastUpdated and Task.lastModified (instant)
    created         Task.authoredOn (instant)
    prefix          ids of the other resources: <prefix>-<position>
                    (default: refnr; a later message of the case uses
                    <refnr>-v<version>)
    later           '1' for a later message of the case (supplement
                    request, supplement, decision): only what it adds -
                    not its MessageHeader, Task, Patient, MedicationRequest
                    or Medication, which the first message's view holds
    valid_from, valid_to
                    a grant's validity period, stamped on the
                    MedicationRequest's dispenseRequest
-->
<xsl:stylesheet version="1.0"
    xmlns:xsl="http://www.w3.org/1999/XSL/Transform"
    xmlns:f="http://hl7.org/fhir"
    xmlns="http://hl7.org/fhir"
    exclude-result-prefixes="f">
  <xsl:output method="xml" encoding="UTF-8" indent="no"/>

  <xsl:param name="base"/>
  <xsl:param name="refnr"/>
  <xsl:param name="status"/>
  <xsl:param name="status_display"/>
  <xsl:param name="task_status"/>
  <xsl:param name="version"/>
  <xsl:param name="updated"/>
  <xsl:param name="created"/>
  <xsl:param name="prefix" select="$refnr"/>
  <xsl:param name="later" select="''"/>
  <xsl:param name="valid_from" select="''"/>
  <xsl:param name="valid_to" select="''"/>

  <xsl:variable name="CS" select="'http://klasgw.org/fhir/CodeSystem/klas-case-status'"/>
  <xsl:variable name="NS" select="'http://klasgw.org/fhir/NamingSystem/referensnummer'"/>

  <xsl:key name="entry" match="/f:Bundle/f:entry" use="f:fullUrl/@value"/>

  <!-- The first Task of the message is the case. -->
  <xsl:variable name="task-entry" select="/f:Bundle/f:entry[f:resource/f:Task][1]"/>

  <xsl:template name="id">
    <xsl:param name="e"/>
    <xsl:choose>
      <xsl:when test="count($e | $task-entry) = 1"><xsl:value-of select="$refnr"/></xsl:when>
      <xsl:otherwise><xsl:value-of select="concat($prefix, '-', count($e/preceding-sibling::f:entry) + 1)"/></xsl:otherwise>
    </xsl:choose>
  </xsl:template>

  <xsl:template match="/f:Bundle">
    <Bundle>
      <type value="collection"/>
      <xsl:for-each select="f:entry[f:resource/*][not(f:resource/f:MessageHeader)][not($later = '1' and (f:resource/f:Task or f:resource/f:Patient or f:resource/f:MedicationRequest or f:resource/f:Medication))]">
        <xsl:variable name="id"><xsl:call-template name="id"><xsl:with-param name="e" select="."/></xsl:call-template></xsl:variable>
        <entry>
          <fullUrl value="{$base}/{local-name(f:resource/*)}/{$id}"/>
          <resource>
            <xsl:apply-templates select="f:resource/*" mode="resource">
              <xsl:with-param name="id" select="$id"/>
            </xsl:apply-templates>
          </resource>
        </entry>
      </xsl:for-each>
    </Bundle>
  </xsl:template>

  <xsl:template match="*" mode="resource">
    <xsl:param name="id"/>
    <xsl:element name="{local-name()}">
      <id value="{$id}"/>
      <xsl:apply-templates select="*[not(self::f:id)]" mode="copy"/>
    </xsl:element>
  </xsl:template>

  <!-- The case: elements in the order R4 defines for Task. -->
  <xsl:template match="f:Task" mode="resource">
    <xsl:param name="id"/>
    <Task>
      <id value="{$id}"/>
      <xsl:choose>
        <xsl:when test="count(.. | $task-entry/f:resource) = 1">
          <meta>
            <xsl:apply-templates select="f:meta/f:extension" mode="copy"/>
            <versionId value="{$version}"/>
            <lastUpdated value="{$updated}"/>
            <xsl:apply-templates select="f:meta/f:source | f:meta/f:profile | f:meta/f:security | f:meta/f:tag" mode="copy"/>
          </meta>
          <xsl:apply-templates select="f:implicitRules | f:language | f:text | f:contained | f:extension | f:modifierExtension" mode="copy"/>
          <identifier>
            <system value="{$NS}"/>
            <value value="{$refnr}"/>
          </identifier>
          <xsl:apply-templates select="f:identifier[not(f:system/@value = $NS)] | f:instantiatesCanonical | f:instantiatesUri | f:basedOn | f:groupIdentifier | f:partOf" mode="copy"/>
          <status value="{$task_status}"/>
          <xsl:apply-templates select="f:statusReason" mode="copy"/>
          <businessStatus>
            <coding>
              <system value="{$CS}"/>
              <code value="{$status}"/>
              <display value="{$status_display}"/>
            </coding>
          </businessStatus>
          <xsl:apply-templates select="f:intent | f:priority | f:code | f:description | f:focus | f:for | f:encounter | f:executionPeriod" mode="copy"/>
          <authoredOn value="{$created}"/>
          <lastModified value="{$updated}"/>
          <xsl:apply-templates select="f:requester | f:performerType | f:owner | f:location | f:reasonCode | f:reasonReference | f:insurance | f:note | f:relevantHistory | f:restriction | f:input | f:output" mode="copy"/>
        </xsl:when>
        <xsl:otherwise>
          <xsl:apply-templates select="*[not(self::f:id)]" mode="copy"/>
        </xsl:otherwise>
      </xsl:choose>
    </Task>
  </xsl:template>

  <!-- A grant's validity period, where the motivation has none. -->
  <xsl:template match="f:MedicationRequest/f:dispenseRequest[not(f:validityPeriod)]" mode="copy">
    <dispenseRequest>
      <xsl:apply-templates select="@* | f:id | f:extension | f:modifierExtension | f:initialFill | f:dispenseInterval" mode="copy"/>
      <xsl:if test="$valid_from != ''">
        <validityPeriod>
          <start value="{$valid_from}"/>
          <end value="{$valid_to}"/>
        </validityPeriod>
      </xsl:if>
      <xsl:apply-templates select="f:numberOfRepeatsAllowed | f:quantity | f:expectedSupplyDuration | f:performer" mode="copy"/>
    </dispenseRequest>
  </xsl:template>

  <xsl:template match="@* | node()" mode="copy">
    <xsl:copy><xsl:apply-templates select="@* | node()" mode="copy"/></xsl:copy>
  </xsl:template>

  <!-- Bundle-local references become server references. -->
  <xsl:template match="f:reference/@value[starts-with(., 'urn:uuid:')]" mode="copy">
    <xsl:variable name="e" select="key('entry', .)"/>
    <xsl:attribute name="value">
      <xsl:choose>
        <xsl:when test="$e/f:resource/*">
          <xsl:value-of select="concat(local-name($e/f:resource/*), '/')"/>
          <xsl:call-template name="id"><xsl:with-param name="e" select="$e"/></xsl:call-template>
        </xsl:when>
        <xsl:otherwise><xsl:value-of select="."/></xsl:otherwise>
      </xsl:choose>
    </xsl:attribute>
  </xsl:template>
</xsl:stylesheet>
